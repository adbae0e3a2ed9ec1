//! One job's worker: a child of the runner that runs its job to the end, step by step, then stops. It fails,
//! by an error or a panic, only for the runner to count a failed attempt; each step it committed stays.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::{steps, JobContext};
use crate::job::Job;

pub struct JobWorker;

pub struct WorkerArgs {
    pub context: Arc<JobContext>,
    pub job: Job,
}

pub enum WorkerMsg {
    /// Run the job, from the step it reached.
    Run,
}

impl Actor for JobWorker {
    type Msg = WorkerMsg;
    type State = WorkerArgs;
    type Arguments = WorkerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        myself.send_message(WorkerMsg::Run)?;
        Ok(args)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            WorkerMsg::Run => {
                let span = tracing::info_span!("job", job_id = state.job.id, kind = state.job.kind.as_str());
                tracing::Instrument::instrument(steps::run(&state.context, &state.job), span).await?;
                myself.stop(None);
            }
        }
        Ok(())
    }
}
