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
                let answers: Vec<(&str, Option<&Value>)> = per_node
                    .iter()
                    .map(|(n, a)| (n.as_str(), a[r].as_ref()))
                    .collect();
                format!(
                    "{} {}: {}",
                    reads[r].f,
                    serde_json::to_string(&reads[r].value).unwrap_or_default(),
                    describe_answers(&answers)
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

/// How the nodes' answers to one final read differ, in a line a person can read: collections
/// by their size and the first few elements each lacks of what any node holds (the history
/// keeps the full values); other values as they are, cut short.
pub fn describe_answers(answers: &[(&str, Option<&Value>)]) -> String {
    const SHOWN: usize = 5;
    // A keyed read answers [k [x ...]]; an unkeyed one [x ...].
    let elements = |v: &Value| -> Option<Vec<Value>> {
        match v {
            Value::List(kv)
                if kv.len() == 2
                    && !matches!(kv[0], Value::List(_) | Value::Set(_))
                    && matches!(kv[1], Value::List(_) | Value::Set(_)) =>
            {
                kv[1].as_seq().map(<[Value]>::to_vec)
            }
            Value::List(xs) | Value::Set(xs) => Some(xs.clone()),
            _ => None,
        }
    };
    let collections: Option<Vec<Option<Vec<Value>>>> = answers
        .iter()
        .map(|(_, a)| match a {
            Some(v) => elements(v).map(Some),
            None => Some(None),
        })
        .collect();
    let Some(collections) = collections else {
        return answers
            .iter()
            .map(|(n, a)| match a {
                Some(v) => {
                    let text = serde_json::to_string(v).unwrap_or_default();
                    let cut: String = text.chars().take(80).collect();
                    let more = if cut.len() < text.len() { "…" } else { "" };
                    format!("{n}: {cut}{more}")
                }
                None => format!("{n}: no answer"),
            })
            .collect::<Vec<_>>()
            .join(", ");
    };
    let mut union: Vec<Value> = collections.iter().flatten().flatten().cloned().collect();
    union.sort_by(Value::total_cmp);
    union.dedup();
    answers
        .iter()
        .zip(&collections)
        .map(|((n, _), c)| match c {
            None => format!("{n}: no answer"),
            Some(held) => {
                let lacks: Vec<&Value> = union.iter().filter(|x| !held.contains(x)).collect();
                if lacks.is_empty() {
                    format!("{n}: {} elements", held.len())
                } else {
                    let first: Vec<String> = lacks
                        .iter()
                        .take(SHOWN)
                        .map(|x| serde_json::to_string(x).unwrap_or_default())
                        .collect();
                    let more = if lacks.len() > SHOWN {
                        format!(" … {} in all", lacks.len())
                    } else {
                        String::new()
                    };
                    format!(
                        "{n}: {} elements, lacking {}{more}",
                        held.len(),
                        first.join(", ")
                    )
                }
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreeing_collections_are_told_by_size_and_what_each_lacks() {
        let all: Vec<Value> = (1..=3000).map(Value::Int).collect();
        let some: Vec<Value> = (1..=3000)
            .filter(|x| x % 500 != 0)
            .map(Value::Int)
            .collect();
        let (a, b) = (Value::List(all), Value::List(some));
        let line = describe_answers(&[("n1", Some(&a)), ("n2", Some(&b)), ("n3", None)]);
        assert_eq!(
            line,
            "n1: 3000 elements; n2: 2994 elements, lacking 500, 1000, 1500, 2000, 2500 … 6 in all; n3: no answer"
        );
        assert!(line.len() < 200);
        let line = describe_answers(&[("n1", Some(&Value::Int(4))), ("n2", Some(&Value::Int(5)))]);
        assert_eq!(line, "n1: 4, n2: 5");
        let keyed = |xs: &[i64]| {
            Value::List(vec![
                Value::Int(3),
                Value::List(xs.iter().map(|&x| Value::Int(x)).collect()),
            ])
        };
        let (a, b) = (keyed(&[1, 2]), keyed(&[1]));
        let line = describe_answers(&[("n1", Some(&a)), ("n2", Some(&b))]);
        assert_eq!(line, "n1: 2 elements; n2: 1 elements, lacking 2");
    }
}
