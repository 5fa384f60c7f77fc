//! 4-connected components of a pixel grid: the one flood fill that image tracing (layer
//! masks, holes, speckles) and label clean-up (flat input regions, thin regions) share.
//!
//! [`Flood`] fills one component at a time from a start pixel, joining the neighbours (left,
//! right, up, down) for which the caller's `joins` holds, and hands back its pixels in the
//! order they were reached (depth first, so the order is deterministic) with their bounding
//! box. The caller owns the scan: it walks the pixels, skips visited ones and the ones it
//! does not want, and may change its own grid between fills (speckle merging relabels as it
//! goes). Visited marks are stamps, so a new pass ([`Flood::clear`]) over a large grid costs
//! nothing: image tracing reuses one `Flood` for every layer a thread traces.
//! [`merge_speckles`] merges small components into their neighbours.

/// A component just filled.
#[derive(Debug)]
pub struct Component<'a> {
    /// Its pixels (row-major indices), in the order the fill reached them.
    pub members: &'a [usize],
    /// Leftmost column.
    pub left: usize,
    /// Top row.
    pub top: usize,
    /// Rightmost column.
    pub right: usize,
    /// Bottom row.
    pub bottom: usize,
}

impl Component<'_> {
    /// Columns spanned.
    pub fn width(&self) -> usize {
        self.right - self.left + 1
    }

    /// Rows spanned.
    pub fn height(&self) -> usize {
        self.bottom - self.top + 1
    }

    /// Whether it reaches the edge of a `width × height` grid.
    pub fn touches_border(&self, width: usize, height: usize) -> bool {
        self.left == 0 || self.top == 0 || self.right + 1 == width || self.bottom + 1 == height
    }
}

/// Flood fills over one `width × height` grid, with reusable buffers.
#[derive(Debug, Clone)]
pub struct Flood {
    width: usize,
    height: usize,
    /// Equal to `stamp` once visited in the current pass.
    visited: Vec<u32>,
    stamp: u32,
    stack: Vec<usize>,
    members: Vec<usize>,
}

impl Flood {
    /// Buffers for a `width × height` grid, every pixel unvisited.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            visited: vec![0; width * height],
            stamp: 1,
            stack: Vec::new(),
            members: Vec::new(),
        }
    }

    /// Starts a new pass: every pixel unvisited again.
    pub fn clear(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.visited.fill(0);
            self.stamp = 1;
        }
    }

    /// Whether `index` belongs to a component filled in this pass.
    pub fn is_visited(&self, index: usize) -> bool {
        self.visited[index] == self.stamp
    }

    /// Fills the component of `start` (unvisited): every pixel reachable from it through
    /// 4-neighbours that are unvisited and for which `joins` holds. `start` itself is taken
    /// without asking `joins`.
    pub fn fill(&mut self, start: usize, mut joins: impl FnMut(usize) -> bool) -> Component<'_> {
        let (width, height, stamp) = (self.width, self.height, self.stamp);
        self.members.clear();
        self.stack.clear();
        self.stack.push(start);
        self.visited[start] = stamp;
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(index) = self.stack.pop() {
            self.members.push(index);
            let (x, y) = (index % width, index / width);
            left = left.min(x);
            right = right.max(x);
            top = top.min(y);
            bottom = bottom.max(y);
            for neighbour in neighbours(index, width, height) {
                if self.visited[neighbour] != stamp && joins(neighbour) {
                    self.visited[neighbour] = stamp;
                    self.stack.push(neighbour);
                }
            }
        }
        Component {
            members: &self.members,
            left,
            top,
            right,
            bottom,
        }
    }
}

/// The 4-neighbours of `index` in a `width × height` grid: left, right, up, down.
pub fn neighbours(index: usize, width: usize, height: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (index % width, index / width);
    let left = (x > 0).then(|| index - 1);
    let right = (x + 1 < width).then(|| index + 1);
    let up = (y > 0).then(|| index - width);
    let down = (y + 1 < height).then(|| index + width);
    [left, right, up, down].into_iter().flatten()
}

/// Merges 4-connected regions of one key smaller than `min_area` pixels (transparency
/// included) into the neighbouring key they share the most edges with. Regions are taken in
/// scan order and relabelled as they go, so a later speckle sees an earlier one's new key.
pub fn merge_speckles(grid: &mut [u16], width: usize, height: usize, min_area: usize) {
    let mut flood = Flood::new(width, height);
    let mut contacts: Vec<(u16, u32)> = Vec::new();
    for start in 0..grid.len() {
        if flood.is_visited(start) {
            continue;
        }
        let key = grid[start];
        let component = flood.fill(start, |n| grid[n] == key);
        if component.members.len() >= min_area {
            continue;
        }
        contacts.clear();
        for index in component.members {
            for neighbour in neighbours(*index, width, height) {
                let other = grid[neighbour];
                if other == key {
                    continue;
                }
                match contacts.iter_mut().find(|(k, _)| *k == other) {
                    Some((_, count)) => *count += 1,
                    None => contacts.push((other, 1)),
                }
            }
        }
        let best = contacts
            .iter()
            .max_by_key(|(k, count)| (*count, std::cmp::Reverse(*k)))
            .map(|(k, _)| *k);
        if let Some(best) = best {
            for index in component.members {
                grid[*index] = best;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Components of equal values, as (first pixel, size, bounding box).
    fn components(grid: &[u8], width: usize) -> Vec<(usize, usize, [usize; 4])> {
        let height = grid.len() / width;
        let mut flood = Flood::new(width, height);
        let mut found = Vec::new();
        for start in 0..grid.len() {
            if flood.is_visited(start) {
                continue;
            }
            let value = grid[start];
            let component = flood.fill(start, |n| grid[n] == value);
            let bounds = [
                component.left,
                component.top,
                component.right,
                component.bottom,
            ];
            found.push((component.members[0], component.members.len(), bounds));
        }
        found
    }

    #[test]
    fn components_are_four_connected_with_their_bounding_boxes() {
        // Two 1s touching only diagonally are two components; the 0s around them are one.
        let grid = [
            1, 0, 0, //
            0, 1, 0, //
            0, 0, 0, //
        ];
        assert_eq!(
            components(&grid, 3),
            vec![
                (0, 1, [0, 0, 0, 0]),
                (1, 7, [0, 0, 2, 2]),
                (4, 1, [1, 1, 1, 1])
            ]
        );
    }

    #[test]
    fn a_new_pass_forgets_the_visits_of_the_last() {
        let mut flood = Flood::new(4, 1);
        let component = flood.fill(1, |_| true);
        assert_eq!(component.members, &[1, 2, 3, 0]);
        assert!(component.touches_border(4, 1));
        assert!(flood.is_visited(3));
        flood.clear();
        assert!(!flood.is_visited(3));
        let component = flood.fill(2, |n| n >= 2);
        assert_eq!((component.width(), component.height()), (2, 1));
    }

    #[test]
    fn neighbours_stop_at_the_border() {
        assert_eq!(neighbours(0, 3, 2).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(neighbours(4, 3, 2).collect::<Vec<_>>(), vec![3, 5, 1]);
    }
}
