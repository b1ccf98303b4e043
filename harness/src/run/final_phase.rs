//! The final phase's reads: every node's own replica of every key, round after round, until
//! the replicas agree or the bound passes. Every read is recorded, marked `final`.

use super::Recorder;
use control::Node;
use history::{OpType, Process, Sym, Value};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use workloads::{Clients, Workload};

#[derive(Debug, Clone)]
pub struct FinalPhase {
    pub nodes: Vec<Node>,
    /// Give up on agreement after this long.
    pub bound: Duration,
    pub op_timeout: Duration,
    /// Between rounds that did not agree.
    pub pause: Duration,
    pub support: super::ClientSupport,
}

/// What the final phase found (written into results.json).
#[derive(Debug, Clone, Serialize)]
pub struct FinalReport {
    /// When the reads began (ns since the test began): right after the heal.
    pub started_ns: u64,
    pub rounds: u32,
    /// `None` when the workload has nothing to read at the end.
    pub agreed: Option<bool>,
    /// From the heal to the first round in which every replica returned the same.
    pub convergence_ns: Option<u64>,
    /// The reads that still differed in the last round, with each node's answer.
    pub disagreements: Vec<String>,
}

pub async fn final_phase(
    phase: &FinalPhase,
    workload: Arc<dyn Workload>,
    clients: Arc<dyn Clients>,
    recorder: Arc<Recorder>,
    healed_at: Duration,
) -> Result<FinalReport, String> {
    let reads = workload.final_reads();
    let mut report = FinalReport {
        started_ns: healed_at.as_nanos() as u64,
        rounds: 0,
        agreed: None,
        convergence_ns: None,
        disagreements: Vec::new(),
    };
    if reads.is_empty() {
        return Ok(report);
    }
    loop {
        report.rounds += 1;
        let processes = recorder.fresh_processes(phase.nodes.len() as u64);
        let mut tasks = Vec::new();
        for (node, process) in phase.nodes.iter().zip(processes) {
            let (node, reads, clients, recorder) = (
                node.clone(),
                reads.clone(),
                clients.clone(),
                recorder.clone(),
            );
            let timeout = phase.op_timeout;
            let (support, all) = (phase.support.clone(), phase.nodes.clone());
            tasks.push(tokio::spawn(async move {
                let me = Process::Client(process);
                let name = Sym::from(node.name.as_str());
                let mut client = clients.open(&support.ctx(&node, &all, process, timeout));
                let mut answers = Vec::new();
                for read in &reads {
                    recorder
                        .record(
                            OpType::Invoke,
                            &me,
                            &read.f,
                            read.value.clone(),
                            Some(&name),
                            None,
                            true,
                        )
                        .map_err(|e| e.to_string())?;
                    let done = client.final_read(read).await;
                    recorder
                        .record(
                            done.kind,
                            &me,
                            &read.f,
                            done.value.clone(),
                            Some(&name),
                            done.error.clone(),
                            true,
                        )
                        .map_err(|e| e.to_string())?;
                    answers.push((done.kind == OpType::Ok).then_some(done.value));
                }
                Ok::<_, String>((node.name, answers))
            }));
        }
        let mut per_node: Vec<(String, Vec<Option<Value>>)> = Vec::new();
        for t in tasks {
            per_node.push(t.await.map_err(|e| e.to_string())??);
        }
        report.disagreements = (0..reads.len())
            .filter(|&r| {
                let first = &per_node[0].1[r];
                first.is_none() || per_node.iter().any(|(_, a)| &a[r] != first)
            })
            .map(|r| {
                let answers: Vec<String> = per_node
                    .iter()
                    .map(|(n, a)| match &a[r] {
                        Some(v) => format!("{n}: {}", serde_json::to_string(v).unwrap_or_default()),
                        None => format!("{n}: no answer"),
                    })
                    .collect();
                format!(
                    "{} {}: {}",
                    reads[r].f,
                    serde_json::to_string(&reads[r].value).unwrap_or_default(),
                    answers.join(", ")
                )
            })
            .collect();
        if report.disagreements.is_empty() {
            report.agreed = Some(true);
            report.convergence_ns =
                Some(recorder.now().saturating_sub(healed_at).as_nanos() as u64);
            return Ok(report);
        }
        if recorder.now().saturating_sub(healed_at) >= phase.bound {
            report.agreed = Some(false);
            return Ok(report);
        }
        tokio::time::sleep(phase.pause).await;
    }
}
