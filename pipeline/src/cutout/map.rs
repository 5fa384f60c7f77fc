//! The planar map: boundary chains between junctions, and each region's outlines.

use std::collections::HashMap;

use super::NOTHING;
use crate::cancel::CancelToken;

/// A lattice direction: east, south, west, north (screen coordinates, y down).
const STEPS: [(i32, i32); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// A boundary between two keys, traced once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    /// Lattice points (pixel corners), first to last; a closed chain repeats its first point
    /// at the end.
    pub points: Vec<(i32, i32)>,
    /// The key on the left of the chain, walking from its first point.
    pub left: u16,
    /// The key on its right.
    pub right: u16,
    /// No junction on it: it closes on itself.
    pub closed: bool,
}

/// One chain used by one region: `reversed` when the region lies on the chain's left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Use {
    /// Index into [`PlanarMap::chains`].
    pub chain: usize,
    /// Walk it from its last point to its first.
    pub reversed: bool,
}

/// The boundaries of a key grid.
#[derive(Debug, Clone)]
pub(crate) struct PlanarMap {
    /// Every boundary chain.
    pub chains: Vec<Chain>,
    /// The job's cancellation: the long walks ([`PlanarMap::outlines`],
    /// [`PlanarMap::right_is_top`]) stop early once it fires, leaving partial results the
    /// caller throws away (it checks the token after each).
    cancel: CancelToken,
}

/// The key grid with `NOTHING` outside it.
struct Grid<'a> {
    keys: &'a [u16],
    width: i32,
    height: i32,
}

impl Grid<'_> {
    fn key(&self, x: i32, y: i32) -> u16 {
        if x < 0 || y < 0 || x >= self.width || y >= self.height {
            NOTHING
        } else {
            self.keys[(y * self.width + x) as usize]
        }
    }

    /// The keys (left, right) of the edge from lattice point `(x, y)` one step in `direction`.
    fn sides(&self, x: i32, y: i32, direction: usize) -> (u16, u16) {
        match direction {
            // East: the pixel above is on the left, the one below on the right.
            0 => (self.key(x, y - 1), self.key(x, y)),
            // South: right is west.
            1 => (self.key(x, y), self.key(x - 1, y)),
            // West: right is north.
            2 => (self.key(x - 1, y), self.key(x - 1, y - 1)),
            // North: right is east.
            _ => (self.key(x - 1, y - 1), self.key(x, y - 1)),
        }
    }

    fn is_boundary(&self, x: i32, y: i32, direction: usize) -> bool {
        let (dx, dy) = STEPS[direction];
        let (nx, ny) = (x + dx, y + dy);
        if nx < 0 || ny < 0 || nx > self.width || ny > self.height {
            return false;
        }
        let (left, right) = self.sides(x, y, direction);
        left != right
    }

    /// Index of the edge from `(x, y)` in `direction` in the visited table: horizontal edges
    /// first (`width × (height + 1)`), then vertical ones.
    fn edge(&self, x: i32, y: i32, direction: usize) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        match direction {
            0 => y as usize * w + x as usize,
            2 => y as usize * w + x as usize - 1,
            1 => w * (h + 1) + y as usize * (w + 1) + x as usize,
            _ => w * (h + 1) + (y as usize - 1) * (w + 1) + x as usize,
        }
    }

    fn degree(&self, x: i32, y: i32) -> usize {
        (0..4).filter(|d| self.is_boundary(x, y, *d)).count()
    }
}

impl PlanarMap {
    /// The chains of a `width × height` key grid (`NOTHING` where no region is).
    pub fn build(keys: &[u16], width: usize, height: usize) -> Self {
        let grid = Grid {
            keys,
            width: width as i32,
            height: height as i32,
        };
        let mut visited = vec![false; width * (height + 1) + (width + 1) * height];
        let mut chains = Vec::new();
        // Chains between junctions, walked out of every junction.
        for y in 0..=grid.height {
            for x in 0..=grid.width {
                if grid.degree(x, y) < 3 {
                    continue;
                }
                for direction in 0..4 {
                    if grid.is_boundary(x, y, direction) && !visited[grid.edge(x, y, direction)] {
                        chains.push(walk(&grid, &mut visited, (x, y), direction));
                    }
                }
            }
        }
        // What is left are closed boundaries with no junction: start each at its first
        // point in scan order, walking east (a top-left corner always has an east edge).
        for y in 0..=grid.height {
            for x in 0..grid.width {
                if grid.is_boundary(x, y, 0) && !visited[grid.edge(x, y, 0)] {
                    chains.push(walk(&grid, &mut visited, (x, y), 0));
                }
            }
        }
        Self {
            chains,
            cancel: CancelToken::new(),
        }
    }

    /// This map with the job's cancellation (see the field).
    pub fn with_cancel(mut self, cancel: &CancelToken) -> Self {
        self.cancel = cancel.clone();
        self
    }

    /// The closed outlines of every region, keyed by region: each a list of chain uses that
    /// walks the region's boundary once with the region on the right.
    pub fn outlines(&self) -> HashMap<u16, Vec<Vec<Use>>> {
        // Per region, its chain uses leaving each lattice point.
        let mut uses: HashMap<u16, Vec<Use>> = HashMap::new();
        for (index, chain) in self.chains.iter().enumerate() {
            if chain.right != NOTHING {
                uses.entry(chain.right).or_default().push(Use {
                    chain: index,
                    reversed: false,
                });
            }
            if chain.left != NOTHING {
                uses.entry(chain.left).or_default().push(Use {
                    chain: index,
                    reversed: true,
                });
            }
        }
        uses.into_iter()
            .map(|(key, list)| (key, self.assemble(&list)))
            .collect()
    }

    /// Joins one region's chain uses into closed outlines.
    fn assemble(&self, list: &[Use]) -> Vec<Vec<Use>> {
        let mut leaving: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
        for (position, item) in list.iter().enumerate() {
            if !self.chains[item.chain].closed {
                leaving
                    .entry(self.start_of(*item))
                    .or_default()
                    .push(position);
            }
        }
        let mut used = vec![false; list.len()];
        let mut outlines = Vec::new();
        for first in 0..list.len() {
            if used[first] {
                continue;
            }
            if first % 1024 == 0 && self.cancel.is_cancelled() {
                break;
            }
            used[first] = true;
            let mut outline = vec![list[first]];
            if self.chains[list[first].chain].closed {
                outlines.push(outline);
                continue;
            }
            let origin = self.start_of(list[first]);
            let mut current = list[first];
            loop {
                let at = self.end_of(current);
                let arriving = self.last_step(current);
                // Prefer a right turn, then straight on, then a left turn.
                let preference = |item: Use| -> usize {
                    let leaving = self.first_step(item);
                    let right = (-arriving.1, arriving.0);
                    if leaving == right {
                        0
                    } else if leaving == arriving {
                        1
                    } else {
                        2
                    }
                };
                let candidates = leaving.get(&at).map(Vec::as_slice).unwrap_or(&[]);
                let next = candidates
                    .iter()
                    .copied()
                    .filter(|position| !used[*position] || (*position == first && at == origin))
                    .min_by_key(|position| preference(list[*position]));
                match next {
                    Some(position) if position == first => break,
                    Some(position) => {
                        used[position] = true;
                        outline.push(list[position]);
                        current = list[position];
                    }
                    // Cannot happen on a consistent map; close what we have.
                    None => break,
                }
            }
            outlines.push(outline);
        }
        outlines
    }

    /// Which side of each chain keeps its staircase corners in simplification, so that the
    /// cutout follows the stacked layout's outlines: the stacked layout draws the boundary
    /// between a lower key and an upper one (by `height`) as part of the outline of the mask
    /// of every key at least as high as the upper one; visioncortex keeps the mask's convex
    /// corners on its outer outlines and the hole's convex corners on its holes. So per chain
    /// the upper side is "top" when the chain lies on an outer outline of that mask (walked
    /// with the mask on the right it runs clockwise), the lower side when it lies on a hole.
    pub fn right_is_top(&self, height: &dyn Fn(u16) -> (u32, u16)) -> Vec<bool> {
        let sides: Vec<((u32, u16), (u32, u16))> = self
            .chains
            .iter()
            .map(|chain| (height(chain.left), height(chain.right)))
            .collect();
        let upper = |index: usize| sides[index].0.max(sides[index].1);
        let mut result: Vec<bool> = sides.iter().map(|(left, right)| right > left).collect();
        let mut levels: Vec<(u32, u16)> = (0..sides.len()).map(upper).collect();
        levels.sort_unstable();
        levels.dedup();
        for level in levels {
            if self.cancel.is_cancelled() {
                break;
            }
            // The outline of the mask {height ≥ level}, the mask on the right.
            let list: Vec<Use> = sides
                .iter()
                .enumerate()
                .filter(|(_, (left, right))| (*left >= level) != (*right >= level))
                .map(|(index, (_, right))| Use {
                    chain: index,
                    reversed: *right < level,
                })
                .collect();
            for outline in self.assemble(&list) {
                let outer = self.doubled_area(&outline) > 0;
                for item in outline.iter().filter(|item| upper(item.chain) == level) {
                    // Forwards, the mask (the upper side) is on the chain's right.
                    result[item.chain] = outer != item.reversed;
                }
            }
        }
        result
    }

    /// Twice the signed area enclosed by an outline (positive: clockwise on screen).
    fn doubled_area(&self, outline: &[Use]) -> i64 {
        let mut sum = 0i64;
        for item in outline {
            let points = &self.chains[item.chain].points;
            let mut add = |a: (i32, i32), b: (i32, i32)| {
                sum += i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1);
            };
            if item.reversed {
                points
                    .windows(2)
                    .rev()
                    .for_each(|pair| add(pair[1], pair[0]));
            } else {
                points.windows(2).for_each(|pair| add(pair[0], pair[1]));
            }
        }
        sum
    }

    fn start_of(&self, item: Use) -> (i32, i32) {
        let points = &self.chains[item.chain].points;
        if item.reversed {
            points[points.len() - 1]
        } else {
            points[0]
        }
    }

    fn end_of(&self, item: Use) -> (i32, i32) {
        let points = &self.chains[item.chain].points;
        if item.reversed {
            points[0]
        } else {
            points[points.len() - 1]
        }
    }

    /// The unit lattice step leaving the use's start.
    fn first_step(&self, item: Use) -> (i32, i32) {
        let points = &self.chains[item.chain].points;
        let n = points.len();
        let (a, b) = if item.reversed {
            (points[n - 1], points[n - 2])
        } else {
            (points[0], points[1])
        };
        ((b.0 - a.0).signum(), (b.1 - a.1).signum())
    }

    /// The unit lattice step arriving at the use's end.
    fn last_step(&self, item: Use) -> (i32, i32) {
        let points = &self.chains[item.chain].points;
        let n = points.len();
        let (a, b) = if item.reversed {
            (points[1], points[0])
        } else {
            (points[n - 2], points[n - 1])
        };
        ((b.0 - a.0).signum(), (b.1 - a.1).signum())
    }
}

/// Walks one chain from lattice point `start` in `direction` until a junction or back to the
/// start, marking its edges visited. The points kept are the chain's corners (where it turns)
/// and its ends.
fn walk(grid: &Grid<'_>, visited: &mut [bool], start: (i32, i32), direction: usize) -> Chain {
    let (left, right) = grid.sides(start.0, start.1, direction);
    let mut points = vec![start];
    let (mut x, mut y) = start;
    let mut heading = direction;
    loop {
        visited[grid.edge(x, y, heading)] = true;
        let (dx, dy) = STEPS[heading];
        (x, y) = (x + dx, y + dy);
        if (x, y) == start {
            points.push((x, y));
            return Chain {
                points,
                left,
                right,
                closed: grid.degree(x, y) < 3,
            };
        }
        if grid.degree(x, y) >= 3 {
            points.push((x, y));
            return Chain {
                points,
                left,
                right,
                closed: false,
            };
        }
        // Degree two: the other boundary edge (never straight back).
        let back = (heading + 2) % 4;
        let next = (0..4)
            .find(|d| *d != back && grid.is_boundary(x, y, *d))
            .unwrap_or(heading);
        if next != heading {
            points.push((x, y));
        }
        heading = next;
    }
}
