//! The farm on a thread and runtime of its own, so that the CPU time it takes can be read apart from the
//! engine's (`cpu_time::thread`).

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::oneshot;

use crate::farm::{Farm, FarmSettings};

pub struct FarmThread {
    farm: Arc<Farm>,
    thread_id: Option<u32>,
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl FarmThread {
    /// Starts the farm on a new thread with a single-threaded runtime, on any free port of 127.0.0.1.
    pub fn start(settings: FarmSettings) -> anyhow::Result<FarmThread> {
        let (started, on_start) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("loadtest-farm".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started.send(Err(anyhow::Error::new(error)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let farm = Farm::start(settings, 0).await.map(Arc::new);
                    let serving = farm.is_ok();
                    let _ = started.send(farm.map(|farm| (farm, crate::cpu_time::current_thread_id())));
                    if serving {
                        // The farm's server is a task of this runtime: it serves until the runtime ends.
                        let _ = stopped.await;
                    }
                });
            })
            .context("Failed to spawn the farm's thread")?;
        let (farm, thread_id) = on_start
            .recv()
            .context("The farm's thread ended before the farm started")??;
        Ok(FarmThread {
            farm,
            thread_id,
            stop,
            thread,
        })
    }

    pub fn farm(&self) -> &Farm {
        &self.farm
    }

    /// CPU time the farm's thread has used; None where there is no /proc.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        crate::cpu_time::thread(self.thread_id?)
    }

    /// Stops serving and waits for the thread to end.
    pub fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("The farm's thread panicked"))
    }
}
