//! The bounded per-job log ring.
//!
//! At most `max_lines` lines and `max_bytes` bytes; pushing is O(1) amortised (a `VecDeque` plus
//! a running byte count), the oldest lines go first, and a single line longer than `max_bytes`
//! is cut (on a character boundary) with a marker saying how much was dropped.

use std::collections::VecDeque;
use std::num::NonZeroUsize;

/// Appended to a line that was cut to fit the byte bound.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

/// A bounded ring of log lines.
#[derive(Debug, Clone)]
pub struct LogRing {
    lines: VecDeque<String>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    dropped: u64,
}

impl LogRing {
    /// An empty ring with the given bounds.
    pub fn new(max_lines: NonZeroUsize, max_bytes: NonZeroUsize) -> Self {
        LogRing {
            lines: VecDeque::new(),
            bytes: 0,
            max_lines: max_lines.get(),
            max_bytes: max_bytes.get(),
            dropped: 0,
        }
    }

    /// Appends a line, dropping the oldest lines as needed.
    pub fn push(&mut self, line: impl Into<String>) {
        let mut line = line.into();
        if line.len() > self.max_bytes {
            line = cut(line, self.max_bytes);
        }
        while !self.lines.is_empty()
            && (self.lines.len() >= self.max_lines || self.bytes + line.len() > self.max_bytes)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
                self.dropped += 1;
            }
        }
        self.bytes += line.len();
        self.lines.push_back(line);
    }

    /// A copy of the lines, oldest first.
    pub fn snapshot(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Lines dropped so far to respect the bounds.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Cuts `line` to at most `max_bytes` bytes including the marker.
fn cut(mut line: String, max_bytes: usize) -> String {
    if max_bytes <= TRUNCATION_MARKER.len() {
        let mut end = max_bytes;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        return line;
    }
    let mut end = max_bytes - TRUNCATION_MARKER.len();
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line.truncate(end);
    line.push_str(TRUNCATION_MARKER);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(lines: usize, bytes: usize) -> LogRing {
        LogRing::new(
            NonZeroUsize::new(lines).expect("non-zero"),
            NonZeroUsize::new(bytes).expect("non-zero"),
        )
    }

    #[test]
    fn keeps_only_the_newest_lines_within_the_line_bound() {
        let mut ring = ring(3, 1000);
        for index in 0..10 {
            ring.push(format!("line {index}"));
        }
        assert_eq!(ring.snapshot(), ["line 7", "line 8", "line 9"]);
        assert_eq!(ring.dropped(), 7);
    }

    #[test]
    fn drops_oldest_lines_to_respect_the_byte_bound() {
        let mut ring = ring(100, 10);
        ring.push("aaaa");
        ring.push("bbbb");
        ring.push("cccc");
        assert_eq!(ring.snapshot(), ["bbbb", "cccc"]);
        assert_eq!(ring.bytes(), 8);
    }

    #[test]
    fn cuts_a_line_longer_than_the_byte_bound_with_a_marker() {
        let mut ring = ring(10, 32);
        ring.push("x".repeat(100));
        let lines = ring.snapshot();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].len() <= 32);
        assert!(lines[0].ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn cutting_respects_character_boundaries() {
        let mut ring = ring(10, 20);
        ring.push("é".repeat(50));
        assert!(ring.snapshot()[0].len() <= 20);
    }

    proptest! {
        #[test]
        fn bounds_always_hold(lines in proptest::collection::vec(".{0,80}", 0..60), max_lines in 1usize..10, max_bytes in 1usize..200) {
            let mut ring = ring(max_lines, max_bytes);
            for line in lines {
                ring.push(line);
                prop_assert!(ring.len() <= max_lines);
                prop_assert!(ring.bytes() <= max_bytes);
                prop_assert_eq!(ring.bytes(), ring.snapshot().iter().map(String::len).sum::<usize>());
            }
        }
    }
}
