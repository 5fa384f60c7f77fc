//! Whole-grid operations on boolean masks that image tracing needs besides flood fills:
//! erosion by a square, growing a mask into allowed pixels (its outline's length counted on
//! the way), and the length of a mask's outline. Row-major `width × height` grids; pixels
//! outside the grid count as `false`.

/// A rectangle of a grid, `left..right` by `top..bottom`, that holds every pixel of some mask
/// (so passes over the mask need only look inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First column.
    pub left: usize,
    /// First row.
    pub top: usize,
    /// One past the last column.
    pub right: usize,
    /// One past the last row.
    pub bottom: usize,
}

impl Window {
    /// The window of no pixels.
    pub const EMPTY: Window = Window {
        left: usize::MAX,
        top: usize::MAX,
        right: 0,
        bottom: 0,
    };

    /// The whole `width × height` grid.
    #[cfg(test)]
    pub fn whole(width: usize, height: usize) -> Self {
        Window {
            left: 0,
            top: 0,
            right: width,
            bottom: height,
        }
    }

    /// Whether it holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.left >= self.right || self.top >= self.bottom
    }

    /// Grown to hold pixel `(x, y)`.
    pub fn include(&mut self, x: usize, y: usize) {
        self.left = self.left.min(x);
        self.top = self.top.min(y);
        self.right = self.right.max(x + 1);
        self.bottom = self.bottom.max(y + 1);
    }

    /// The smallest window holding both.
    pub fn union(self, other: Window) -> Window {
        Window {
            left: self.left.min(other.left),
            top: self.top.min(other.top),
            right: self.right.max(other.right),
            bottom: self.bottom.max(other.bottom),
        }
    }

    /// Grown by one pixel on every side, within a `width × height` grid.
    pub fn grown(self, width: usize, height: usize) -> Window {
        if self.is_empty() {
            return self;
        }
        Window {
            left: self.left.saturating_sub(1),
            top: self.top.saturating_sub(1),
            right: (self.right + 1).min(width),
            bottom: (self.bottom + 1).min(height),
        }
    }

    /// Its pixels' row-major indices in a grid `width` wide, row by row.
    pub fn indices(self, width: usize) -> impl Iterator<Item = usize> {
        self.rows(width).flatten()
    }

    /// Each of its rows as a range of row-major indices in a grid `width` wide, top to
    /// bottom: for loops over slices, which a flattened iterator keeps the compiler from
    /// vectorising.
    pub fn rows(self, width: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        let (left, right) = (self.left, self.right.max(self.left));
        (self.top..self.bottom.max(self.top)).map(move |y| (y * width + left)..(y * width + right))
    }
}

/// The pixels of `mask` whose whole `(2·radius + 1)²` square neighbourhood is in `mask`
/// (outside the grid counts as out). Separable: a horizontal then a vertical pass.
pub fn erode(mask: &[bool], width: usize, height: usize, radius: usize) -> Vec<bool> {
    debug_assert_eq!(mask.len(), width * height);
    if radius == 0 {
        return mask.to_vec();
    }
    // A pixel is kept when the `2·radius + 1` pixels centred on it along a row, then along
    // a column, are all in (so none within `radius` of the border is). Each pass ANDs whole
    // shifted rows, in memory order: the column pass, done down each column, was a cache
    // miss per pixel.
    let span = 2 * radius + 1;
    let mut rows = vec![false; mask.len()];
    if width >= span {
        for (line, out) in mask.chunks_exact(width).zip(rows.chunks_exact_mut(width)) {
            let inner = &mut out[radius..width - radius];
            inner.copy_from_slice(&line[..width - 2 * radius]);
            for shift in 1..span {
                for (kept, pixel) in inner.iter_mut().zip(&line[shift..]) {
                    *kept &= *pixel;
                }
            }
        }
    }
    let mut out = vec![false; mask.len()];
    if height >= span {
        for y in radius..height - radius {
            let kept = &mut out[y * width..(y + 1) * width];
            kept.copy_from_slice(&rows[(y - radius) * width..(y - radius + 1) * width]);
            for shift in 1..span {
                let line = &rows[(y - radius + shift) * width..][..width];
                for (kept, pixel) in kept.iter_mut().zip(line) {
                    *kept &= *pixel;
                }
            }
        }
    }
    out
}

/// Grows `mask` (in place) into the 4-connected pixels of `allowed` that it touches (what
/// [`grow_counted`] does, the reference for its test).
#[cfg(test)]
pub fn grow_into(mask: &mut [bool], allowed: &[bool], width: usize, height: usize) {
    grow_steps(mask, allowed, width, height, usize::MAX);
}

/// Grows `mask` (in place) by up to `steps` 4-neighbour steps into the pixels of `allowed`
/// (what [`grow_counted`] notes after `steps` steps, the reference for its test).
#[cfg(test)]
pub fn grow_steps(mask: &mut [bool], allowed: &[bool], width: usize, height: usize, steps: usize) {
    debug_assert_eq!(mask.len(), allowed.len());
    let mut front: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    for _ in 0..steps {
        let mut next = Vec::new();
        for &index in &front {
            let (x, y) = (index % width, index / width);
            let neighbours = [
                (x > 0).then(|| index - 1),
                (x + 1 < width).then(|| index + 1),
                (y > 0).then(|| index - width),
                (y + 1 < height).then(|| index + width),
            ];
            for neighbour in neighbours.into_iter().flatten() {
                if allowed[neighbour] && !mask[neighbour] {
                    mask[neighbour] = true;
                    next.push(neighbour);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        front = next;
    }
}

/// What [`grow_counted`] took: the pixels in the order taken, how many of them within the
/// first `steps` steps, and the mask's outline length at that point and at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    /// Pixels taken, step by step.
    pub taken: Vec<usize>,
    /// How many of `taken` came in the first `steps` steps.
    pub within: usize,
    /// [`outline_length_in`] of the mask after `steps` steps.
    pub length_within: usize,
    /// [`outline_length_in`] of the mask at the end.
    pub length: usize,
    /// A window holding the mask at the end.
    pub window: Window,
}

impl Growth {
    /// Takes back from `mask` what came after the first `steps` steps.
    pub fn undo_after_steps(&self, mask: &mut [bool]) {
        for &index in &self.taken[self.within..] {
            mask[index] = false;
        }
    }
}

/// Grows `mask` (in place) into the 4-connected pixels where `allowed` holds that it
/// reaches, step by step, noting where it stood after `steps` steps. `length` is the mask's
/// [`outline_length_in`] before; the lengths after are counted as pixels are taken (a pixel
/// with `k` 4-neighbours in the mask adds `4 − 2k` edges), with no pass over the grid.
/// `window` holds the mask; the first step looks one pixel around it, the rest around the
/// pixels taken.
pub fn grow_counted(
    mask: &mut [bool],
    allowed: impl Fn(usize) -> bool,
    width: usize,
    height: usize,
    steps: usize,
    length: usize,
    window: Window,
) -> Growth {
    debug_assert_eq!(mask.len(), width * height);
    let mut length = length as isize;
    let mut taken: Vec<usize> = Vec::new();
    let mut window = window;
    let (mut within, mut length_within) = (0, length);
    // 4-neighbours of (x, y) in the mask. Coordinates travel with the pixels: a division per
    // pixel was most of this function's time.
    let neighbours_in = |mask: &[bool], index: usize, x: usize, y: usize| -> isize {
        isize::from(x > 0 && mask[index - 1])
            + isize::from(x + 1 < width && mask[index + 1])
            + isize::from(y > 0 && mask[index - width])
            + isize::from(y + 1 < height && mask[index + width])
    };
    // The first step: every allowed pixel outside the mask with a 4-neighbour in it, found
    // by one pass (the mask may be most of the grid), then taken. The outline length is a
    // function of the set alone, so taking a step's pixels one by one counts it exactly.
    let mut front: Vec<(usize, usize)> = Vec::new();
    let around = window.grown(width, height);
    for y in around.top..around.bottom {
        for x in around.left..around.right {
            let index = y * width + x;
            if !mask[index] && neighbours_in(mask, index, x, y) > 0 && allowed(index) {
                front.push((x, y));
            }
        }
    }
    for &(x, y) in &front {
        let index = y * width + x;
        length += 4 - 2 * neighbours_in(mask, index, x, y);
        mask[index] = true;
        taken.push(index);
        window.include(x, y);
    }
    let mut next: Vec<(usize, usize)> = Vec::new();
    let mut step = 1;
    loop {
        if step <= steps {
            within = taken.len();
            length_within = length;
        }
        if front.is_empty() || step > steps {
            break;
        }
        // The next step: the allowed neighbours of the last step's pixels.
        next.clear();
        for &(x, y) in &front {
            let index = y * width + x;
            // Left, right, up, down (spelled out: an array of optional neighbours was the
            // slowest part of this loop).
            macro_rules! visit {
                ($neighbour:expr, $nx:expr, $ny:expr) => {
                    let neighbour = $neighbour;
                    if !mask[neighbour] && allowed(neighbour) {
                        length += 4 - 2 * neighbours_in(mask, neighbour, $nx, $ny);
                        mask[neighbour] = true;
                        taken.push(neighbour);
                        window.include($nx, $ny);
                        next.push(($nx, $ny));
                    }
                };
            }
            if x > 0 {
                visit!(index - 1, x - 1, y);
            }
            if x + 1 < width {
                visit!(index + 1, x + 1, y);
            }
            if y > 0 {
                visit!(index - width, x, y - 1);
            }
            if y + 1 < height {
                visit!(index + width, x, y + 1);
            }
        }
        std::mem::swap(&mut front, &mut next);
        step += 1;
    }
    // The rest, in any order (only the first `steps` are counted apart): filled a row's run
    // at a time from the last step's pixels, each pixel taken once, as it joins.
    let mut seeds: Vec<usize> = Vec::new();
    macro_rules! take {
        ($index:expr, $x:expr, $y:expr) => {
            let index = $index;
            length += 4 - 2 * neighbours_in(mask, index, $x, $y);
            mask[index] = true;
            taken.push(index);
        };
    }
    for &(x, y) in &front {
        let index = y * width + x;
        for (neighbour, nx, ny, inside) in [
            (index.wrapping_sub(1), x.wrapping_sub(1), y, x > 0),
            (index + 1, x + 1, y, x + 1 < width),
            (index.wrapping_sub(width), x, y.wrapping_sub(1), y > 0),
            (index + width, x, y + 1, y + 1 < height),
        ] {
            if inside && !mask[neighbour] && allowed(neighbour) {
                take!(neighbour, nx, ny);
                seeds.push(neighbour);
            }
        }
    }
    while let Some(seed) = seeds.pop() {
        let (x, y) = (seed % width, seed / width);
        let row = y * width;
        let (mut x0, mut x1) = (x, x);
        while x0 > 0 && !mask[row + x0 - 1] && allowed(row + x0 - 1) {
            x0 -= 1;
            take!(row + x0, x0, y);
        }
        while x1 + 1 < width && !mask[row + x1 + 1] && allowed(row + x1 + 1) {
            x1 += 1;
            take!(row + x1, x1, y);
        }
        window.include(x0, y);
        window.include(x1, y);
        for (ny, inside) in [(y.wrapping_sub(1), y > 0), (y + 1, y + 1 < height)] {
            if !inside {
                continue;
            }
            let next_row = ny * width;
            let mut seeded = false;
            for nx in x0..=x1 {
                let index = next_row + nx;
                if !mask[index] && allowed(index) {
                    if !seeded {
                        take!(index, nx, ny);
                        seeds.push(index);
                        seeded = true;
                    }
                } else {
                    seeded = false;
                }
            }
        }
    }
    Growth {
        window,
        taken,
        within,
        length_within: length_within as usize,
        length: length as usize,
    }
}

/// Pixel edges between a pixel of `mask` and one outside it (or the grid's border): the
/// length of the mask's outline, holes included, in grid pixels.
#[cfg(test)]
pub fn outline_length(mask: &[bool], width: usize, height: usize) -> usize {
    outline_length_in(mask, width, height, Window::whole(width, height))
}

/// [`outline_length`] of a mask held by `window`.
pub fn outline_length_in(mask: &[bool], width: usize, height: usize, window: Window) -> usize {
    let mut length = 0;
    for y in window.top..window.bottom {
        for x in window.left..window.right {
            let index = y * width + x;
            if !mask[index] {
                continue;
            }
            length += usize::from(x == 0 || !mask[index - 1])
                + usize::from(x + 1 == width || !mask[index + 1])
                + usize::from(y == 0 || !mask[index - width])
                + usize::from(y + 1 == height || !mask[index + width]);
        }
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&str]) -> (Vec<bool>, usize, usize) {
        let width = rows[0].len();
        let cells = rows
            .iter()
            .flat_map(|row| row.bytes().map(|b| b == b'#'))
            .collect();
        (cells, width, rows.len())
    }

    #[test]
    fn erosion_keeps_pixels_whose_square_is_inside() {
        let (mask, w, h) = grid(&["#####.", "#####.", "#####.", "#####.", "......"]);
        let eroded = erode(&mask, w, h, 1);
        let (expected, _, _) = grid(&["......", ".###..", ".###..", "......", "......"]);
        assert_eq!(eroded, expected);
        assert_eq!(erode(&mask, w, h, 0), mask);
        assert!(erode(&mask, w, h, 2).iter().all(|&p| !p));
    }

    #[test]
    fn erosion_matches_the_square_test_on_random_masks() {
        let mut random = crate::xorshift::xorshift(0x1234_5678_9abc_def1u64);
        for case in 0..300 {
            let (w, h) = (1 + (random() % 17) as usize, 1 + (random() % 13) as usize);
            let radius = (random() % 4) as usize;
            let mask: Vec<bool> = (0..w * h).map(|_| !random().is_multiple_of(5)).collect();
            let inside = |x: usize, y: usize| {
                x >= radius
                    && y >= radius
                    && x + radius < w
                    && y + radius < h
                    && (y - radius..=y + radius)
                        .all(|ny| (x - radius..=x + radius).all(|nx| mask[ny * w + nx]))
            };
            let expected: Vec<bool> = (0..w * h).map(|i| inside(i % w, i / w)).collect();
            assert_eq!(erode(&mask, w, h, radius), expected, "case {case}");
        }
    }

    #[test]
    fn growing_follows_allowed_pixels_it_touches_only() {
        let (mut mask, w, h) = grid(&["#....", ".....", "....."]);
        let (allowed, _, _) = grid(&[".##.#", ".#..#", "....#"]);
        grow_into(&mut mask, &allowed, w, h);
        let (expected, _, _) = grid(&["###..", ".#...", "....."]);
        assert_eq!(mask, expected);
    }

    #[test]
    fn outline_counts_holes_and_border() {
        let (block, w, h) = grid(&["###", "###", "###"]);
        assert_eq!(outline_length(&block, w, h), 12);
        let (ring, w, h) = grid(&["###", "#.#", "###"]);
        assert_eq!(outline_length(&ring, w, h), 16);
    }

    #[test]
    fn counted_growth_matches_growing_and_measuring() {
        let mut random = crate::xorshift::xorshift(0x2545_f491_4f6c_dd1du64);
        for case in 0..300 {
            let (width, height) = (1 + (random() % 17) as usize, 1 + (random() % 13) as usize);
            let mask: Vec<bool> = (0..width * height)
                .map(|_| random().is_multiple_of(5))
                .collect();
            let allowed: Vec<bool> = (0..width * height)
                .map(|_| !random().is_multiple_of(3))
                .collect();
            let steps = (random() % 4) as usize + case % 2;
            let mut near = mask.clone();
            grow_steps(&mut near, &allowed, width, height, steps);
            let mut all = mask.clone();
            grow_into(&mut all, &allowed, width, height);
            let mut grown = mask.clone();
            let length = outline_length(&mask, width, height);
            // The window of the mask's pixels.
            let mut window = Window::EMPTY;
            for (index, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
                window.include(index % width, index / width);
            }
            assert_eq!(outline_length_in(&mask, width, height, window), length);
            let growth = grow_counted(
                &mut grown,
                |i| allowed[i],
                width,
                height,
                steps,
                length,
                window,
            );
            assert!(all
                .iter()
                .enumerate()
                .all(|(i, m)| !m || growth.window.indices(width).any(|j| j == i)));
            assert_eq!(grown, all, "case {case}");
            assert_eq!(
                growth.length,
                outline_length(&all, width, height),
                "case {case}"
            );
            assert_eq!(growth.length_within, outline_length(&near, width, height));
            growth.undo_after_steps(&mut grown);
            assert_eq!(grown, near, "case {case}");
        }
    }

    #[test]
    fn grow_steps_reaches_a_fixed_distance_into_allowed_pixels_only() {
        let (mut mask, width, height) = grid(&["#......", "#......", "#......"]);
        let (allowed, _, _) = grid(&["######.", "###.###", "#######"]);
        grow_steps(&mut mask, &allowed, width, height, 2);
        let (expected, _, _) = grid(&["###....", "###....", "###...."]);
        assert_eq!(mask, expected);
        // More steps than the allowed region holds stop at its edge (and behind the gap).
        grow_steps(&mut mask, &allowed, width, height, 10);
        let (expected, _, _) = grid(&["######.", "###.###", "#######"]);
        assert_eq!(mask, expected);
    }
}
