//! [`Few`]: a list that keeps its first item inline. A stream usually waits for one
//! callout (or one async hook) at a time; keeping that one out of the heap saves an
//! allocation per stream, and inside the VM a stream costs about what it allocates.

/// A list whose first item lives inline; the rest, if any, in a `Vec`. Indices run from
/// the inline item (0) through the rest.
pub(crate) struct Few<T> {
    /// `None` only when `more` is empty too.
    first: Option<T>,
    more: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few::new()
    }
}

impl<T> Few<T> {
    pub(crate) const fn new() -> Self {
        Few {
            first: None,
            more: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.first.is_none() {
            self.first = Some(item);
        } else {
            self.more.push(item);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(self.more.iter())
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        match index {
            0 => self.first.as_mut(),
            _ => self.more.get_mut(index - 1),
        }
    }

    /// Removes item `index`; the last item takes its place (order is not kept).
    pub(crate) fn swap_remove(&mut self, index: usize) -> Option<T> {
        match index {
            0 => {
                let first = self.first.take();
                self.first = self.more.pop();
                first
            }
            _ if index <= self.more.len() => Some(self.more.swap_remove(index - 1)),
            _ => None,
        }
    }

    /// Removes the first item, keeping the order of the others.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let first = self.first.take();
        if !self.more.is_empty() {
            self.first = Some(self.more.remove(0));
        }
        first
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        if self.first.as_ref().is_some_and(|first| !keep(first)) {
            self.first = None;
        }
        self.more.retain(keep);
        if self.first.is_none() && !self.more.is_empty() {
            self.first = Some(self.more.remove(0));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.first = None;
        self.more.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Few;

    fn items(few: &Few<u32>) -> Vec<u32> {
        few.iter().copied().collect()
    }

    #[test]
    fn keeps_every_item_through_each_operation() {
        let mut few = Few::new();
        assert!(few.is_empty());
        for i in 1..=4 {
            few.push(i);
        }
        assert_eq!((items(&few), few.len()), (vec![1, 2, 3, 4], 4));
        assert_eq!(few.pop_front(), Some(1));
        assert_eq!(items(&few), [2, 3, 4]);
        assert_eq!(few.swap_remove(0), Some(2));
        assert_eq!(items(&few), [4, 3]);
        assert_eq!(few.swap_remove(1), Some(3));
        assert_eq!(few.swap_remove(5), None);
        *few.get_mut(0).unwrap() = 7;
        few.push(8);
        few.push(9);
        few.retain(|i| *i != 7);
        assert_eq!(items(&few), [8, 9]);
        few.retain(|_| false);
        assert!(few.is_empty() && few.pop_front().is_none());
        few.push(1);
        few.clear();
        assert_eq!(few.len(), 0);
    }
}
