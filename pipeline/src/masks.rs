//! Whole-grid operations on boolean masks that image tracing needs besides flood fills:
//! erosion by a square, growing a mask into allowed pixels, and the length of a mask's
//! outline. Row-major `width × height` grids; pixels outside the grid count as `false`.

/// The pixels of `mask` whose whole `(2·radius + 1)²` square neighbourhood is in `mask`
/// (outside the grid counts as out). Separable: a horizontal then a vertical pass.
pub fn erode(mask: &[bool], width: usize, height: usize, radius: usize) -> Vec<bool> {
    debug_assert_eq!(mask.len(), width * height);
    if radius == 0 {
        return mask.to_vec();
    }
    // Run lengths of `true` ending at each pixel, forwards and backwards, give "all true
    // within `radius`" in O(1) per pixel.
    let pass = |source: &[bool], len: usize, lines: usize, at: &dyn Fn(usize, usize) -> usize| {
        let mut out = vec![false; source.len()];
        let mut before = vec![0usize; len];
        let mut after = vec![0usize; len];
        for line in 0..lines {
            let mut run = 0;
            for i in 0..len {
                run = if source[at(line, i)] { run + 1 } else { 0 };
                before[i] = run;
            }
            run = 0;
            for i in (0..len).rev() {
                run = if source[at(line, i)] { run + 1 } else { 0 };
                after[i] = run;
            }
            for i in 0..len {
                out[at(line, i)] = before[i] > radius && after[i] > radius;
            }
        }
        out
    };
    let rows = pass(mask, width, height, &|y, x| y * width + x);
    pass(&rows, height, width, &|x, y| y * width + x)
}

/// Grows `mask` (in place) into the 4-connected pixels of `allowed` that it touches.
pub fn grow_into(mask: &mut [bool], allowed: &[bool], width: usize, height: usize) {
    grow_steps(mask, allowed, width, height, usize::MAX);
}

/// Grows `mask` (in place) by up to `steps` 4-neighbour steps into the pixels of `allowed`.
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

/// Pixel edges between a pixel of `mask` and one outside it (or the grid's border): the
/// length of the mask's outline, holes included, in grid pixels.
pub fn outline_length(mask: &[bool], width: usize, height: usize) -> usize {
    let mut length = 0;
    for y in 0..height {
        for x in 0..width {
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
