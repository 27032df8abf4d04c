//! SQLite's batch writer: one connection of its own (rusqlite) on a thread of its own, which runs a
//! whole write transaction (a booking batch's reads, the caller's decision, its writes and the commit)
//! as one call.
//!
//! Through sqlx, every statement is a round trip between the async side and the connection's thread:
//! measured on this 2-core machine, about 120 µs for `SELECT 1`, with both sides waiting in turn. A
//! rush batch makes about ten statements, and the decision and the statements' arguments were built
//! on the async side while the connection waited. Here the transaction is one job: its statements
//! are prepared once per connection and run row by row, without leaving the thread.
//!
//! The connection keeps the pages of the hot indexes in its cache from one batch to the next (it is the
//! only one writing them). It is opened on first use, with the pool's settings (WAL, the same
//! `synchronous`, cache size, busy timeout), and closed by [`SqliteWriter::close`] or when the last
//! `Store` clone is dropped.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{StoreError, StoreResult};

/// Jobs queued for the writer at most (each is a whole batch). Callers beyond it wait for a place in
/// the queue, in order (the naive booking mode makes one batch per request, each request its own).
pub(crate) const MAX_QUEUED_JOBS: usize = 64;

/// The connection's state, as the writer's thread sees it.
enum Writer {
    NotOpened { path: PathBuf, synchronous: &'static str },
    Open(Connection),
    Closed,
}

type Job = Box<dyn FnOnce(&mut Writer) + Send>;

/// The handle: sends jobs to the writer's thread. Clones share the thread.
#[derive(Debug, Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// A place in the queue, held by a job until it has run.
    places: Arc<Semaphore>,
}

impl SqliteWriter {
    /// Starts the writer's thread for the database file `path`; `synchronous` is the `PRAGMA
    /// synchronous` value the store's pool uses (`FULL`, or `OFF` for a reloadable bulk load).
    pub(crate) fn start(path: PathBuf, synchronous: &'static str) -> StoreResult<SqliteWriter> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-batch-writer".into())
            .spawn(move || {
                let mut writer = Writer::NotOpened { path, synchronous };
                // Ends when every handle is gone; the connection closes with it.
                while let Ok(job) = receiver.recv() {
                    // A job that panics has its transaction rolled back (rusqlite's guard) and its caller
                    // sees the writer's answer dropped; the writer goes on with the next job.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut writer)));
                }
            })
            .map_err(|error| StoreError::Unavailable(format!("the SQLite batch writer's thread did not start: {error}")))?;
        Ok(SqliteWriter { jobs, places: Arc::new(Semaphore::new(MAX_QUEUED_JOBS)) })
    }

    /// Runs `job` on the writer's thread with its connection (opened on first use) and returns what it
    /// returned, after waiting for a place in the queue. `Unavailable` when the writer is closed or
    /// the job panicked.
    pub(crate) async fn run<T: Send + 'static>(&self, job: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
        let place = self.places.clone().acquire_owned().await.map_err(|_| StoreError::Unavailable("the SQLite batch writer has stopped".into()))?;
        let answer = self.submit(place, job)?;
        answer.await.map_err(|_| StoreError::Unavailable("the SQLite batch writer's job failed without an answer (it panicked)".into()))?
    }

    /// Queues `job`, which holds `place` until it has run; its result comes on the returned channel.
    fn submit<T: Send + 'static>(
        &self,
        place: OwnedSemaphorePermit,
        job: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<tokio::sync::oneshot::Receiver<StoreResult<T>>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |writer: &mut Writer| {
            let _ = reply.send(open(writer).and_then(job));
            drop(place);
        });
        self.jobs.send(job).map_err(|_| StoreError::Unavailable("the SQLite batch writer has stopped".into()))?;
        Ok(answer)
    }

    /// Closes the connection (SQLite checkpoints its WAL on close); later jobs are refused.
    pub(crate) async fn close(&self) {
        let (reply, answer) = tokio::sync::oneshot::channel::<()>();
        let job: Job = Box::new(move |writer: &mut Writer| {
            *writer = Writer::Closed;
            let _ = reply.send(());
        });
        // A stopped thread: there is nothing to wait for. (Closing does not wait for a place: the
        // jobs queued before it run first, then the connection closes.)
        if self.jobs.send(job).is_ok() {
            let _ = answer.await;
        }
    }
}

fn open(writer: &mut Writer) -> StoreResult<&mut Connection> {
    if let Writer::NotOpened { path, synchronous } = writer {
        let connection = open_connection(path, synchronous)?;
        *writer = Writer::Open(connection);
    }
    match writer {
        Writer::Open(connection) => Ok(connection),
        Writer::NotOpened { .. } | Writer::Closed => Err(StoreError::Unavailable("the SQLite batch writer is closed".into())),
    }
}

fn open_connection(path: &std::path::Path, synchronous: &str) -> StoreResult<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    // The same settings as the pool's connections (see `Store::connect`).
    connection.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    connection.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 4096; PRAGMA temp_store = memory; PRAGMA foreign_keys = ON;"
    ))?;
    // The batch statements come in a few shapes; keep them all prepared.
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::{MAX_QUEUED_JOBS, SqliteWriter};
    use crate::StoreError;

    fn writer_on_a_new_file() -> (tempfile::TempDir, SqliteWriter) {
        let directory = tempfile::tempdir().unwrap();
        let writer = SqliteWriter::start(directory.path().join("writer.db"), "FULL").unwrap();
        (directory, writer)
    }

    #[tokio::test]
    async fn jobs_run_on_one_connection_in_order_and_answer() {
        let (_directory, writer) = writer_on_a_new_file();
        writer.run(|connection| Ok(connection.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")?)).await.unwrap();
        let mode: String = writer.run(|connection| Ok(connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?)).await.unwrap();
        assert_eq!(mode, "wal");
        let x: i64 = writer.run(|connection| Ok(connection.query_row("SELECT x FROM t", [], |row| row.get(0))?)).await.unwrap();
        assert_eq!(x, 1);
    }

    #[tokio::test]
    async fn a_job_that_panics_answers_unavailable_and_the_writer_goes_on() {
        let (_directory, writer) = writer_on_a_new_file();
        let panicked = writer.run(|_| -> Result<(), StoreError> { panic!("a decision went wrong") }).await;
        assert!(matches!(panicked, Err(StoreError::Unavailable(_))), "{panicked:?}");
        let answer: i64 = writer.run(|connection| Ok(connection.query_row("SELECT 41 + 1", [], |row| row.get(0))?)).await.unwrap();
        assert_eq!(answer, 42);
    }

    #[tokio::test]
    async fn a_closed_writer_refuses_jobs() {
        let (_directory, writer) = writer_on_a_new_file();
        writer.run(|connection| Ok(connection.execute_batch("CREATE TABLE t (x INTEGER);")?)).await.unwrap();
        writer.close().await;
        let refused = writer.run(|connection| Ok(connection.execute_batch("INSERT INTO t VALUES (1);")?)).await;
        assert!(matches!(&refused, Err(StoreError::Unavailable(reason)) if reason.contains("closed")), "{refused:?}");
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_callers_beyond_it_wait() {
        let (_directory, writer) = writer_on_a_new_file();
        // The first job holds the writer's thread until released; the rest of the places fill up.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let place = writer.places.clone().try_acquire_owned().unwrap();
        let first = writer
            .submit(place, move |_| {
                released.recv().ok();
                Ok(())
            })
            .unwrap();
        let mut queued = Vec::new();
        for _ in 1..MAX_QUEUED_JOBS {
            queued.push(writer.submit(writer.places.clone().try_acquire_owned().unwrap(), |_| Ok(())).unwrap());
        }
        assert!(writer.places.clone().try_acquire_owned().is_err(), "the queue is full");
        // A caller beyond the queue waits for a place instead of failing.
        let waiting = writer.clone();
        let late = tokio::spawn(async move { waiting.run(|_| Ok(7)).await });
        tokio::task::yield_now().await;
        assert!(!late.is_finished(), "waits while the queue is full");
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for answer in queued {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(late.await.unwrap().unwrap(), 7);
    }
}
