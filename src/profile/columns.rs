//! Sample values by sample type, and each sample's label-set index, each column as narrow
//! as its values allow.
//!
//! A production heap profile has hundreds of thousands of samples with four values each,
//! nearly all of them small (object counts, sizes under 2 GiB): as `i64` they took as much
//! memory as the stacks themselves. A column starts at one byte per value and widens, once,
//! to the width its largest value needs; a value reads back exactly as it was stored.

/// One sample type's values, one per sample, in the narrowest width that holds them all.
#[derive(Debug, Clone)]
enum Column {
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// Bytes per value, the order in which a column widens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    W8,
    W16,
    W32,
    W64,
}

impl Width {
    fn of(value: i64) -> Width {
        if i8::try_from(value).is_ok() {
            Width::W8
        } else if i16::try_from(value).is_ok() {
            Width::W16
        } else if i32::try_from(value).is_ok() {
            Width::W32
        } else {
            Width::W64
        }
    }
}

impl Column {
    fn width(&self) -> Width {
        match self {
            Column::I8(_) => Width::W8,
            Column::I16(_) => Width::W16,
            Column::I32(_) => Width::W32,
            Column::I64(_) => Width::W64,
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::I8(v) => v.len(),
            Column::I16(v) => v.len(),
            Column::I32(v) => v.len(),
            Column::I64(v) => v.len(),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Column::I8(v) => v.capacity(),
            Column::I16(v) => v.capacity(),
            Column::I32(v) => v.capacity(),
            Column::I64(v) => v.capacity(),
        }
    }

    #[inline]
    fn get(&self, row: usize) -> i64 {
        match self {
            Column::I8(v) => i64::from(v[row]),
            Column::I16(v) => i64::from(v[row]),
            Column::I32(v) => i64::from(v[row]),
            Column::I64(v) => v[row],
        }
    }

    /// The column at `width` (never narrower than now), keeping its capacity: a column
    /// reserved for the whole profile stays reserved.
    fn widen(&mut self, width: Width) {
        if width <= self.width() {
            return;
        }
        let capacity = self.capacity();
        let values = (0..self.len()).map(|row| self.get(row));
        // Each value fits: it fitted the narrower width it came from.
        *self = match width {
            Width::W8 => return,
            Width::W16 => {
                let mut column = Vec::with_capacity(capacity);
                column.extend(values.map(|v| v as i16));
                Column::I16(column)
            }
            Width::W32 => {
                let mut column = Vec::with_capacity(capacity);
                column.extend(values.map(|v| v as i32));
                Column::I32(column)
            }
            Width::W64 => {
                let mut column = Vec::with_capacity(capacity);
                column.extend(values);
                Column::I64(column)
            }
        };
    }

    #[inline]
    fn push(&mut self, value: i64) {
        // Nearly every value fits the column as it is.
        let pushed = match self {
            Column::I8(v) => i8::try_from(value).map(|x| v.push(x)).is_ok(),
            Column::I16(v) => i16::try_from(value).map(|x| v.push(x)).is_ok(),
            Column::I32(v) => i32::try_from(value).map(|x| v.push(x)).is_ok(),
            Column::I64(v) => {
                v.push(value);
                true
            }
        };
        if pushed {
            return;
        }
        self.widen(Width::of(value));
        // After widening the value fits the column's width.
        match self {
            Column::I8(v) => v.push(value as i8),
            Column::I16(v) => v.push(value as i16),
            Column::I32(v) => v.push(value as i32),
            Column::I64(v) => v.push(value),
        }
    }

    fn set(&mut self, row: usize, value: i64) {
        self.widen(Width::of(value));
        match self {
            Column::I8(v) => v[row] = value as i8,
            Column::I16(v) => v[row] = value as i16,
            Column::I32(v) => v[row] = value as i32,
            Column::I64(v) => v[row] = value,
        }
    }

    fn reserve(&mut self, additional: usize, target: Option<usize>) {
        match self {
            Column::I8(v) => reserve_toward(v, additional, target),
            Column::I16(v) => reserve_toward(v, additional, target),
            Column::I32(v) => reserve_toward(v, additional, target),
            Column::I64(v) => reserve_toward(v, additional, target),
        }
    }

    fn bytes(&self) -> usize {
        self.len()
            * match self.width() {
                Width::W8 => 1,
                Width::W16 => 2,
                Width::W32 => 4,
                Width::W64 => 8,
            }
    }
}

/// Makes room for `additional` more items in `buffer`: up to `target` items in all when that
/// is given and can be reserved (a size extrapolated from what was read so far), else as
/// `Vec::reserve` does (by doubling).
pub(crate) fn reserve_toward<T>(buffer: &mut Vec<T>, additional: usize, target: Option<usize>) {
    if buffer.capacity() - buffer.len() >= additional {
        return;
    }
    if let Some(target) = target
        && target > buffer.len().saturating_add(additional)
        && buffer.try_reserve_exact(target - buffer.len()).is_ok()
    {
        return;
    }
    buffer.reserve(additional);
}

/// Equal when they hold the same values, whatever width each reached.
impl PartialEq for Column {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|row| self.get(row) == other.get(row))
    }
}

impl Eq for Column {}

/// Every sample's values: one column per sample type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueColumns {
    columns: Vec<Column>,
}

impl ValueColumns {
    /// No rows yet, `count` values to a row.
    pub fn new(count: usize) -> Self {
        ValueColumns {
            columns: (0..count).map(|_| Column::I8(Vec::new())).collect(),
        }
    }

    /// Values per row.
    pub fn count(&self) -> usize {
        self.columns.len()
    }

    /// Rows stored.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Adds a row: missing values read as 0, extra ones are dropped.
    #[inline]
    pub fn push_row(&mut self, values: &[i64]) {
        for (i, column) in self.columns.iter_mut().enumerate() {
            column.push(values.get(i).copied().unwrap_or(0));
        }
    }

    /// Value `index` of row `row`.
    #[inline]
    pub fn get(&self, row: usize, index: usize) -> i64 {
        self.columns[index].get(row)
    }

    /// Replaces value `index` of row `row`.
    pub fn set(&mut self, row: usize, index: usize, value: i64) {
        self.columns[index].set(row, value);
    }

    /// Makes room for `additional` more rows, up to `target()` rows in all when it gives a
    /// number (or as `Vec::reserve` does); `target` is asked only when a column is full.
    #[inline]
    pub fn reserve_rows(&mut self, additional: usize, target: impl FnOnce() -> Option<usize>) {
        if self
            .columns
            .iter()
            .all(|c| c.capacity() - c.len() >= additional)
        {
            return;
        }
        let target = target();
        for column in &mut self.columns {
            column.reserve(additional, target);
        }
    }

    /// The bytes the stored values take, for the size tests.
    pub fn bytes(&self) -> usize {
        self.columns.iter().map(Column::bytes).sum()
    }

    /// The values of row `row`, in sample-type order.
    pub fn row(&self, row: usize) -> Values<'_> {
        Values {
            columns: &self.columns,
            row,
            next: 0,
        }
    }
}

/// Indices that are never negative (each sample's label set), as narrow as the largest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn(Column);

impl Default for IndexColumn {
    fn default() -> Self {
        IndexColumn(Column::I8(Vec::new()))
    }
}

impl IndexColumn {
    /// Adds an index.
    #[inline]
    pub fn push(&mut self, index: u32) {
        self.0.push(i64::from(index));
    }

    /// Index `row`.
    #[inline]
    pub fn get(&self, row: usize) -> u32 {
        // Only u32 values were pushed.
        self.0.get(row) as u32
    }

    /// Indices stored.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when none is stored.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Makes room for `additional` more, up to `target()` in all when it gives a number.
    #[inline]
    pub fn reserve(&mut self, additional: usize, target: impl FnOnce() -> Option<usize>) {
        if self.0.capacity() - self.0.len() < additional {
            self.0.reserve(additional, target());
        }
    }

    /// The bytes the stored indices take, for the size tests.
    pub fn bytes(&self) -> usize {
        self.0.bytes()
    }
}

/// The values of one sample, one per sample type.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    columns: &'a [Column],
    row: usize,
    next: usize,
}

impl Values<'_> {
    /// The values as a vector.
    pub fn to_vec(&self) -> Vec<i64> {
        self.clone().collect()
    }
}

impl Iterator for Values<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        let column = self.columns.get(self.next)?;
        self.next += 1;
        Some(column.get(self.row))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.columns.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Values<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_exactly_at_every_width() {
        let rows: Vec<[i64; 3]> = vec![
            [1, -1, 0],
            [127, -128, 300],
            [-129, 40_000, i64::from(i32::MIN)],
            [i64::MAX, i64::MIN, 5],
        ];
        let mut columns = ValueColumns::new(3);
        for (n, row) in rows.iter().enumerate() {
            columns.push_row(row);
            // Earlier rows survive each widening.
            for (m, earlier) in rows[..=n].iter().enumerate() {
                assert_eq!(columns.row(m).to_vec(), earlier.to_vec(), "after row {n}");
            }
        }
        assert_eq!(columns.rows(), 4);
        assert_eq!(columns.get(2, 1), 40_000);
    }

    #[test]
    fn columns_stay_as_narrow_as_their_values() {
        let mut columns = ValueColumns::new(2);
        columns.reserve_rows(1, || Some(1000));
        for n in 0..1000 {
            columns.push_row(&[n % 100, n * 1000]);
        }
        // 1 byte for the first column, 4 for the second.
        assert_eq!(columns.bytes(), 1000 + 4000);
        assert_eq!(columns.get(999, 1), 999_000);
    }

    #[test]
    fn set_widens_and_rows_are_padded_or_cut() {
        let mut columns = ValueColumns::new(2);
        columns.push_row(&[5]);
        columns.push_row(&[1, 2, 3]);
        assert_eq!(columns.row(0).to_vec(), [5, 0]);
        assert_eq!(columns.row(1).to_vec(), [1, 2]);
        columns.set(0, 0, 1 << 40);
        assert_eq!(columns.row(0).to_vec(), [1 << 40, 0]);
        assert_eq!(columns.row(1).len(), 2);
    }

    #[test]
    fn indices_stay_narrow_and_read_back() {
        let mut indices = IndexColumn::default();
        for i in 0..100 {
            indices.push(i);
        }
        assert_eq!(indices.bytes(), 100);
        indices.push(u32::MAX);
        assert_eq!((indices.get(99), indices.get(100)), (99, u32::MAX));
        assert_eq!(indices.bytes(), 101 * 8);
    }

    #[test]
    fn equal_values_are_equal_whatever_the_widths() {
        let mut wide = ValueColumns::new(1);
        wide.push_row(&[1 << 40]);
        wide.set(0, 0, 7);
        let mut narrow = ValueColumns::new(1);
        narrow.push_row(&[7]);
        assert_eq!(wide, narrow);
        narrow.push_row(&[8]);
        assert_ne!(wide, narrow);
    }
}
