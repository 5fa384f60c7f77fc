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
//! [`Flood::fill_rows`] fills the same component a row's run at a time, for callers that
//! need its pixels as runs and not in any order (tracing: a layer's components and their
//! holes), at a fraction of the work per pixel.
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

/// One row's run of a component: columns `left..=right` of row `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub y: usize,
    pub left: usize,
    pub right: usize,
}

/// A component filled by [`Flood::fill_rows`]: its pixels as runs (no two overlap), and
/// its bounding box.
#[derive(Debug)]
pub struct RowComponent<'a> {
    pub runs: &'a [Run],
    /// Its box, as [`Component`]'s (`members` empty).
    pub bounds: Component<'a>,
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
    runs: Vec<Run>,
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
            runs: Vec::new(),
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

    /// The component of `start` as [`Flood::fill`] finds it (the same pixels, joined the same
    /// way), filled a row's run at a time: a seed widens left and right over the pixels that
    /// join, and each stretch of joining pixels above and below the run becomes one seed.
    /// Divisions and neighbour tests per run, not per pixel.
    pub fn fill_rows(
        &mut self,
        start: usize,
        mut joins: impl FnMut(usize) -> bool,
    ) -> RowComponent<'_> {
        let (width, height, stamp) = (self.width, self.height, self.stamp);
        self.runs.clear();
        self.stack.clear();
        self.stack.push(start);
        self.visited[start] = stamp;
        let (mut left, mut top, mut right, mut bottom) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(seed) = self.stack.pop() {
            let y = seed / width;
            let row = y * width;
            let (mut x0, mut x1) = (seed - row, seed - row);
            while x0 > 0 && self.visited[row + x0 - 1] != stamp && joins(row + x0 - 1) {
                x0 -= 1;
                self.visited[row + x0] = stamp;
            }
            while x1 + 1 < width && self.visited[row + x1 + 1] != stamp && joins(row + x1 + 1) {
                x1 += 1;
                self.visited[row + x1] = stamp;
            }
            self.runs.push(Run {
                y,
                left: x0,
                right: x1,
            });
            left = left.min(x0);
            right = right.max(x1);
            top = top.min(y);
            bottom = bottom.max(y);
            let rows = [y.checked_sub(1), (y + 1 < height).then_some(y + 1)];
            for next in rows.into_iter().flatten() {
                let next = next * width;
                let mut seeded = false;
                for index in next + x0..=next + x1 {
                    if self.visited[index] != stamp && joins(index) {
                        if !seeded {
                            self.visited[index] = stamp;
                            self.stack.push(index);
                            seeded = true;
                        }
                    } else {
                        seeded = false;
                    }
                }
            }
        }
        RowComponent {
            runs: &self.runs,
            bounds: Component {
                members: &[],
                left,
                top,
                right,
                bottom,
            },
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
///
/// The regions are those of the grid as given: a region's pixels all keep their key until
/// the region itself is taken, so relabelling never joins or splits one that is still to
/// come (it only changes what a later speckle counts around it). So the regions are found
/// once, as runs of one key per row joined across rows (union-find), and only the speckles'
/// pixels are visited again.
pub fn merge_speckles(grid: &mut [u16], width: usize, height: usize, min_area: usize) {
    if width == 0 || height == 0 {
        return;
    }
    let runs = Runs::new(grid, width, height);
    let count = runs.start.len();
    // The root of each run's region, its area, and the speckles' runs in scan order.
    let mut area = vec![0usize; count];
    let roots: Vec<u32> = (0..count)
        .map(|run| {
            let root = runs.find(run as u32);
            area[root as usize] += runs.len(run);
            root
        })
        .collect();
    // Regions in scan order are roots in order of their first run; a speckle's runs are
    // gathered under its root (each run's `next` the region's next run).
    let mut first = vec![u32::MAX; count];
    let mut last = vec![u32::MAX; count];
    let mut next = vec![u32::MAX; count];
    let mut order = Vec::new();
    for (run, root) in roots.iter().enumerate() {
        let root = *root as usize;
        if area[root] >= min_area {
            continue;
        }
        if first[root] == u32::MAX {
            first[root] = run as u32;
            order.push(root);
        } else {
            next[last[root] as usize] = run as u32;
        }
        last[root] = run as u32;
    }
    let mut contacts: Vec<(u16, u32)> = Vec::new();
    for root in order {
        contacts.clear();
        let mut run = first[root];
        let key = runs.key[run as usize];
        while run != u32::MAX {
            let (row, left, right) = runs.span(run as usize);
            let base = row * width;
            for x in left..right {
                let index = base + x;
                if x > 0 && grid[index - 1] != key {
                    count_contact(grid[index - 1], &mut contacts);
                }
                if x + 1 < width && grid[index + 1] != key {
                    count_contact(grid[index + 1], &mut contacts);
                }
                if row > 0 && grid[index - width] != key {
                    count_contact(grid[index - width], &mut contacts);
                }
                if row + 1 < height && grid[index + width] != key {
                    count_contact(grid[index + width], &mut contacts);
                }
            }
            run = next[run as usize];
        }
        let best = contacts
            .iter()
            .max_by_key(|(k, count)| (*count, std::cmp::Reverse(*k)))
            .map(|(k, _)| *k);
        if let Some(best) = best {
            let mut run = first[root];
            while run != u32::MAX {
                let (row, left, right) = runs.span(run as usize);
                grid[row * width + left..row * width + right].fill(best);
                run = next[run as usize];
            }
        }
    }
}

/// One more shared edge with `other`.
fn count_contact(other: u16, contacts: &mut Vec<(u16, u32)>) {
    match contacts.iter_mut().find(|(k, _)| *k == other) {
        Some((_, count)) => *count += 1,
        None => contacts.push((other, 1)),
    }
}

/// Runs of one key along each row of a grid, those of one 4-connected region joined
/// (union-find).
struct Runs {
    /// Row-major index of each run's first pixel, in scan order.
    start: Vec<usize>,
    /// Each run's length.
    length: Vec<u32>,
    key: Vec<u16>,
    /// Union-find parents.
    parent: Vec<std::cell::Cell<u32>>,
    width: usize,
}

impl Runs {
    fn new(grid: &[u16], width: usize, height: usize) -> Self {
        let mut runs = Runs {
            start: Vec::new(),
            length: Vec::new(),
            key: Vec::new(),
            parent: Vec::new(),
            width,
        };
        let mut previous_row = 0..0;
        for y in 0..height {
            let row = &grid[y * width..(y + 1) * width];
            let first = runs.start.len();
            let mut x = 0;
            while x < width {
                let key = row[x];
                let mut end = x + 1;
                while end < width && row[end] == key {
                    end += 1;
                }
                let id = runs.start.len() as u32;
                runs.start.push(y * width + x);
                runs.length.push((end - x) as u32);
                runs.key.push(key);
                runs.parent.push(std::cell::Cell::new(id));
                x = end;
            }
            // Join each run with the runs of the row above that overlap it and share its key.
            let mut above = previous_row.start;
            for run in first..runs.start.len() {
                let (_, left, right) = runs.span(run);
                while above < previous_row.end {
                    let (_, a_left, a_right) = runs.span(above);
                    if a_right <= left {
                        above += 1;
                        continue;
                    }
                    if a_left >= right {
                        break;
                    }
                    if runs.key[above] == runs.key[run] {
                        runs.union(above as u32, run as u32);
                    }
                    if a_right > right {
                        break;
                    }
                    above += 1;
                }
            }
            previous_row = first..runs.start.len();
        }
        runs
    }

    /// Row and column range of a run.
    fn span(&self, run: usize) -> (usize, usize, usize) {
        let (row, left) = (self.start[run] / self.width, self.start[run] % self.width);
        (row, left, left + self.length[run] as usize)
    }

    fn len(&self, run: usize) -> usize {
        self.length[run] as usize
    }

    fn find(&self, mut run: u32) -> u32 {
        while self.parent[run as usize].get() != run {
            let grand = self.parent[self.parent[run as usize].get() as usize].get();
            self.parent[run as usize].set(grand);
            run = grand;
        }
        run
    }

    /// Joins two regions, the root the smaller run index (so a root is its region's first
    /// run).
    fn union(&self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (low, high) = (a.min(b), a.max(b));
            self.parent[high as usize].set(low);
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

    /// The flood-fill `merge_speckles` this module had first: the reference.
    fn merge_speckles_by_flood(grid: &mut [u16], width: usize, height: usize, min_area: usize) {
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

    #[test]
    fn row_fills_find_the_components_of_the_flood_fill_on_random_grids() {
        let mut random = crate::xorshift::xorshift(0x2545_f491_4f6c_dd1du64);
        for case in 0..300 {
            let width = 1 + (random() % 29) as usize;
            let height = 1 + (random() % 23) as usize;
            let keys = 2 + random() % 3;
            let grid: Vec<u8> = (0..width * height)
                .map(|_| (random() % keys) as u8)
                .collect();
            let mut by_flood = Flood::new(width, height);
            let mut by_rows = Flood::new(width, height);
            for start in 0..grid.len() {
                assert_eq!(by_flood.is_visited(start), by_rows.is_visited(start));
                if by_flood.is_visited(start) {
                    continue;
                }
                let value = grid[start];
                let component = by_flood.fill(start, |n| grid[n] == value);
                let mut expected = component.members.to_vec();
                expected.sort_unstable();
                let bounds = [
                    component.left,
                    component.top,
                    component.right,
                    component.bottom,
                ];
                let rows = by_rows.fill_rows(start, |n| grid[n] == value);
                let mut found: Vec<usize> = rows
                    .runs
                    .iter()
                    .flat_map(|run| (run.left..=run.right).map(move |x| run.y * width + x))
                    .collect();
                found.sort_unstable();
                assert_eq!(
                    found, expected,
                    "case {case}: {width}x{height} from {start}"
                );
                let b = &rows.bounds;
                assert_eq!([b.left, b.top, b.right, b.bottom], bounds, "case {case}");
            }
        }
    }

    #[test]
    fn speckle_merging_matches_the_flood_fill_on_random_grids() {
        // A small xorshift: grids of few keys in blobs and noise, every size and threshold.
        let mut random = crate::xorshift::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for case in 0..400 {
            let width = 1 + (random() % 23) as usize;
            let height = 1 + (random() % 19) as usize;
            let keys = 2 + (random() % 4) as u16;
            let mut grid: Vec<u16> = vec![0; width * height];
            let mut value = 0u16;
            for cell in grid.iter_mut() {
                if random().is_multiple_of(4) {
                    value = (random() % u64::from(keys)) as u16;
                }
                *cell = if value == keys - 1 { u16::MAX } else { value };
            }
            // Blobs: copy the row above now and then.
            for y in 1..height {
                if random().is_multiple_of(2) {
                    let (above, row) = grid.split_at_mut(y * width);
                    row[..width].copy_from_slice(&above[(y - 1) * width..]);
                }
            }
            let min_area = 1 + (random() % 12) as usize + case % 3;
            let mut expected = grid.clone();
            merge_speckles_by_flood(&mut expected, width, height, min_area);
            merge_speckles(&mut grid, width, height, min_area);
            assert_eq!(
                grid, expected,
                "case {case}: {width}x{height}, min {min_area}"
            );
        }
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
