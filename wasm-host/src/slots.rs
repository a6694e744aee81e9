//! [`Slots`]: a counting semaphore for blocking threads. Read-only handlers of a module run in
//! parallel up to the number of CPUs: more would only take turns on the cores, and each one
//! beyond the idle instances would pay for a fresh instance.

use parking_lot::{Condvar, Mutex};

#[derive(Debug)]
pub(crate) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A taken slot; dropping it gives it back.
#[derive(Debug)]
pub(crate) struct Slot<'a>(&'a Slots);

impl Slots {
    pub(crate) fn new(count: usize) -> Slots {
        Slots {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }
    }

    /// As many slots as the machine has CPUs (at least 2).
    pub(crate) fn per_cpu() -> Slots {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Slots::new(cpus.max(2))
    }

    /// Waits for a free slot.
    pub(crate) fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.freed.wait(&mut free);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn never_more_holders_than_slots() {
        // Proves eight threads contending for two slots never hold more than two at once,
        // and all get through.
        let slots = Arc::new(Slots::new(2));
        let (inside, most, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (slots, inside, most, done) =
                    (slots.clone(), inside.clone(), most.clone(), done.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _slot = slots.take();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(done.load(Ordering::SeqCst), 8);
        assert!(most.load(Ordering::SeqCst) <= 2);
    }
}
