//! The one worker pool: how many workers a machine gets, and a parallel map that keeps the order.
//! Each worker has its own [`Shell`] in the caller's folder, since a `Shell` is not shared between
//! threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use xshell::Shell;

/// One worker per core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `f` of every item, computed on up to [`workers`] threads, in the order of `items`.
pub fn map<T: Sync, R: Send>(
    sh: &Shell,
    items: &[T],
    f: impl Fn(&Shell, &T) -> R + Sync,
) -> Vec<R> {
    let dir = sh.current_dir();
    let next = AtomicUsize::new(0);
    let results = Mutex::new((0..items.len()).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|scope| {
        for _ in 0..workers().min(items.len()) {
            scope.spawn(|| {
                let sh = Shell::new().expect("a shell");
                sh.change_dir(&dir);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let result = f(&sh, item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_results_keep_the_order_of_the_items() {
        let sh = Shell::new().unwrap();
        let items: Vec<usize> = (0..50).collect();
        assert_eq!(
            map(&sh, &items, |_, i| i * 2),
            (0..50).map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(map(&sh, &[] as &[usize], |_, i| *i).is_empty());
    }
}
