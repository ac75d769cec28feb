//! Dense tables indexed by entity indices, so no mechanism computes a flat offset by hand.
//!
//! A [`Grid`] is a row-major `rows × cols` table (e.g. nation × product, regulator × nation);
//! a [`Grid3`] adds a third axis (e.g. regulator × nation × export class). Indexing is by
//! tuple: `installed[(nation, product)]`, `cap_used[(regulator, nation, class)]`. The shape is
//! fixed at construction from the validated parameters.

use std::ops::{Index, IndexMut};

/// The flat offset `r × cols + c` of a cell, in wrapping arithmetic: the slice's bounds check
/// that follows catches any offset out of the table (a row past the last), and the column is
/// checked against `cols` in debug builds, so the overflow checks of the release profile would
/// only add two branches to every access of the model's hot loops.
#[inline(always)]
fn flat(r: usize, cols: usize, c: usize) -> usize {
    r.wrapping_mul(cols).wrapping_add(c)
}

/// A `rows × cols` table, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid<T> {
    cols: usize,
    cells: Vec<T>,
}

impl<T: Clone> Grid<T> {
    /// A `rows × cols` table with every cell `value`.
    pub fn new(rows: usize, cols: usize, value: T) -> Grid<T> {
        Grid {
            cols,
            cells: vec![value; rows * cols],
        }
    }

    /// Sets every cell to `value`.
    pub fn fill(&mut self, value: T) {
        self.cells.iter_mut().for_each(|c| *c = value.clone());
    }
}

impl<T> Grid<T> {
    pub fn rows(&self) -> usize {
        self.cells.len().checked_div(self.cols).unwrap_or(0)
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` as a slice (e.g. one nation's products).
    #[inline]
    pub fn row(&self, r: usize) -> &[T] {
        &self.cells[r * self.cols..(r + 1) * self.cols]
    }

    #[inline]
    pub fn row_mut(&mut self, r: usize) -> &mut [T] {
        &mut self.cells[r * self.cols..(r + 1) * self.cols]
    }

    /// Column `c`, top to bottom (e.g. one product across nations).
    pub fn column(&self, c: usize) -> impl Iterator<Item = &T> + '_ {
        self.cells.iter().skip(c).step_by(self.cols.max(1))
    }
}

impl<T> Index<(usize, usize)> for Grid<T> {
    type Output = T;
    #[inline]
    fn index(&self, (r, c): (usize, usize)) -> &T {
        debug_assert!(c < self.cols);
        &self.cells[flat(r, self.cols, c)]
    }
}

impl<T> IndexMut<(usize, usize)> for Grid<T> {
    #[inline]
    fn index_mut(&mut self, (r, c): (usize, usize)) -> &mut T {
        debug_assert!(c < self.cols);
        &mut self.cells[flat(r, self.cols, c)]
    }
}

/// An `a × b × c` table, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid3<T> {
    b: usize,
    c: usize,
    cells: Vec<T>,
}

impl<T: Clone> Grid3<T> {
    pub fn new(a: usize, b: usize, c: usize, value: T) -> Grid3<T> {
        Grid3 {
            b,
            c,
            cells: vec![value; a * b * c],
        }
    }

    pub fn fill(&mut self, value: T) {
        self.cells.iter_mut().for_each(|x| *x = value.clone());
    }
}

impl<T> Index<(usize, usize, usize)> for Grid3<T> {
    type Output = T;
    #[inline]
    fn index(&self, (x, y, z): (usize, usize, usize)) -> &T {
        debug_assert!(y < self.b && z < self.c);
        &self.cells[flat(flat(x, self.b, y), self.c, z)]
    }
}

impl<T> IndexMut<(usize, usize, usize)> for Grid3<T> {
    #[inline]
    fn index_mut(&mut self, (x, y, z): (usize, usize, usize)) -> &mut T {
        debug_assert!(y < self.b && z < self.c);
        &mut self.cells[flat(flat(x, self.b, y), self.c, z)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_cells_are_distinct_and_rows_and_columns_line_up() {
        let mut g = Grid::new(3, 2, 0);
        for r in 0..3 {
            for c in 0..2 {
                g[(r, c)] = 10 * r + c;
            }
        }
        assert_eq!(g.row(1), &[10, 11]);
        assert_eq!(g.column(1).copied().collect::<Vec<_>>(), vec![1, 11, 21]);
        assert_eq!((g.rows(), g.cols()), (3, 2));
        g.fill(7);
        assert_eq!(g.row(2), &[7, 7]);
    }

    #[test]
    fn grid3_cells_are_distinct() {
        let mut g = Grid3::new(2, 3, 4, 0usize);
        for x in 0..2 {
            for y in 0..3 {
                for z in 0..4 {
                    g[(x, y, z)] = 100 * x + 10 * y + z;
                }
            }
        }
        assert_eq!(g[(1, 2, 3)], 123);
        assert_eq!(g[(0, 1, 0)], 10);
        g.fill(0);
        assert_eq!(g[(1, 2, 3)], 0);
    }
}
