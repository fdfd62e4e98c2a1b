//! The walkthrough runner: the walkthrough file (saved after every verdict), the plan of items,
//! and the probes run in the background. `update` asks for these through `Cmd`s; answers come
//! back as `Msg`s, and what the probes gathered is kept in the model.

use std::collections::HashMap;
use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::app::model::{Model, SparkKey};
use crate::app::update::Msg;
use crate::checklist::ItemKind;
use crate::checklist::{self, Gathered, Outcome, PlannedItem, Probe, Status, Verdict, Walkthrough};
use crate::config::AlertValue;
use crate::config::Config;

pub(crate) struct WalkRunner {
    config: Config,
    plan: Vec<PlannedItem>,
    probes: HashMap<String, Probe>,
    walk: Option<Walkthrough>,
    dir: Option<PathBuf>,
}

impl WalkRunner {
    pub(crate) fn new(config: &Config) -> WalkRunner {
        WalkRunner {
            config: config.clone(),
            plan: Vec::new(),
            probes: HashMap::new(),
            walk: None,
            dir: crate::front::check::default_reports_dir(),
        }
    }

    /// Opens or resumes today's walkthrough and starts the probes; their answers go to the
    /// model (`Msg::WalkGathered`) tagged with this opening's `generation`.
    pub(crate) fn open(&mut self, generation: u64, m: &Model, tx: &mpsc::UnboundedSender<Msg>) {
        let r = self.try_open(generation, m, tx);
        let _ = tx.send(Msg::WalkOpened(r.map(Box::new)));
    }

    fn try_open(
        &mut self,
        generation: u64,
        m: &Model,
        tx: &mpsc::UnboundedSender<Msg>,
    ) -> Result<checklist::WalkState, String> {
        let dir = self.dir.clone().ok_or(
            "no HOME or XDG_STATE_HOME: the walkthrough has nowhere to be saved — set one",
        )?;
        let plan = checklist::plan(&self.config, None).map_err(|e| e.to_string())?;
        if plan.is_empty() {
            return Err("no checklist applies: no target has a preset (or `watchdeck check --checklist FILE` for one of your own)".into());
        }
        let operator = crate::actions::audit::Operator::current().user;
        let walk =
            Walkthrough::load_or_new(&dir, &plan, &operator, m.environment.as_deref(), m.now_ms)
                .map_err(|e| e.to_string())?;
        self.probes = plan
            .iter()
            .map(|p| (p.key.clone(), checklist::probe_for(p, &self.config)))
            .collect();
        for (key, probe) in &self.probes {
            if matches!(probe, Probe::Panels | Probe::Skip(_) | Probe::Unknown(_)) {
                continue;
            }
            let (key, probe, tx) = (key.clone(), probe.clone(), tx.clone());
            tokio::spawn(async move {
                let gathered = Box::new(checklist::gather(&probe, checklist::PROBE_TIMEOUT).await);
                let _ = tx.send(Msg::WalkGathered {
                    generation,
                    key,
                    gathered,
                });
            });
        }
        self.plan = plan;
        self.walk = Some(walk);
        // Items judged on panels alone (or not applicable) get their result at once; probed
        // ones when their probe answers.
        self.judge_all(m, tx);
        self.walk
            .as_ref()
            .map(|w| w.state.clone())
            .ok_or_else(|| "the walkthrough could not be kept".to_owned())
    }

    /// The outcome of one item now, or `None` while its probe is still out.
    fn outcome(&self, item: &PlannedItem, m: &Model) -> Option<Outcome> {
        let probe = self.probes.get(&item.key)?;
        let needs_gather = !matches!(probe, Probe::Panels | Probe::Skip(_) | Probe::Unknown(_));
        let gathered = m.walk_gathered.get(&item.key).cloned();
        if needs_gather && gathered.is_none() {
            return None;
        }
        let panels = item
            .target
            .as_ref()
            .and_then(|t| m.shown.targets.iter().find(|p| &p.name == t));
        Some(checklist::evaluate(
            item,
            probe,
            panels,
            &gathered.unwrap_or(Gathered::Nothing),
            m.now_ms,
        ))
    }

    /// Judges every automatic item that can be judged now, and saves once.
    fn judge_all(&mut self, m: &Model, tx: &mpsc::UnboundedSender<Msg>) {
        let judged: Vec<(String, Outcome)> = self
            .plan
            .iter()
            .filter(|p| p.kind() == ItemKind::Auto)
            .filter_map(|p| self.outcome(p, m).map(|o| (p.key.clone(), o)))
            .collect();
        let Some(w) = self.walk.as_mut() else {
            return;
        };
        for (key, outcome) in judged {
            if let Some(i) = w.state.items.iter_mut().find(|i| i.key == key) {
                i.auto = Some(outcome.clone());
            }
            let spark = self
                .plan
                .iter()
                .find(|p| p.key == key)
                .and_then(|p| spark_of(p, m));
            let _ = tx.send(Msg::WalkJudged {
                key,
                outcome: Box::new(outcome),
                spark,
            });
        }
        if let Err(e) = w.save() {
            let _ = tx.send(Msg::WalkError(e.to_string()));
        }
    }

    /// Judges one automatic item on the panels as they are now and what was gathered.
    pub(crate) fn judge(&mut self, key: &str, m: &Model, tx: &mpsc::UnboundedSender<Msg>) {
        let Some(item) = self.plan.iter().find(|p| p.key == key) else {
            return;
        };
        let outcome = match self.outcome(item, m) {
            None => Outcome {
                status: Status::Pending,
                evidence: "checking…".into(),
                value: None,
            },
            Some(outcome) => {
                if let Some(w) = self.walk.as_mut() {
                    if let Err(e) = w.set_auto(key, outcome.clone()) {
                        let _ = tx.send(Msg::WalkError(e.to_string()));
                    }
                }
                outcome
            }
        };
        let _ = tx.send(Msg::WalkJudged {
            key: key.to_owned(),
            outcome: Box::new(outcome),
            spark: spark_of(item, m),
        });
    }

    pub(crate) fn record(
        &mut self,
        key: &str,
        verdict: Verdict,
        note: Option<String>,
        tx: &mpsc::UnboundedSender<Msg>,
    ) {
        if let Some(w) = self.walk.as_mut() {
            if let Err(e) = w.record(key, verdict, note) {
                let _ = tx.send(Msg::WalkError(e.to_string()));
            }
        }
    }

    /// Writes the report (with the alerts as they are now) and closes the walkthrough.
    pub(crate) fn finish(&mut self, m: &Model, tx: &mpsc::UnboundedSender<Msg>) {
        // Undecided automatic items go into the report with their result as of now.
        self.judge_all(m, tx);
        let r = (|| {
            let walk = self.walk.take().ok_or("no walkthrough is open")?;
            let dir = self.dir.clone().ok_or("no reports directory")?;
            let names: Vec<String> = m.shown.targets.iter().map(|t| t.name.clone()).collect();
            let report = walk.finish(m.alerts.rows(&names), m.now_ms);
            match report.write(&dir) {
                Ok((md, _json)) => {
                    walk.close().map_err(|e| e.to_string())?;
                    Ok(md.display().to_string())
                }
                Err(e) => {
                    let msg = format!(
                        "cannot write the report into {}: {e} — the walkthrough is kept; F to try again",
                        dir.display()
                    );
                    self.walk = Some(walk);
                    Err(msg)
                }
            }
        })();
        let _ = tx.send(Msg::WalkFinished(r.map_err(|e: String| e)));
    }
}

/// The cockpit's sparkline that follows the value an item checks, if there is one: a latency
/// p95, the largest backlog, the largest SSE group.
fn spark_of(item: &PlannedItem, m: &Model) -> Option<SparkKey> {
    let Some(checklist::Check::Value { value, panel, .. }) = &item.item.check else {
        return None;
    };
    let target = item.target.as_ref()?;
    let t = m.shown.targets.iter().find(|p| &p.name == target)?;
    let largest = |rows: &mut dyn Iterator<Item = (f64, String)>| {
        rows.max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, l)| l)
    };
    match value {
        AlertValue::LatencyP95 => Some(SparkKey::P95(target.clone(), panel.clone()?)),
        AlertValue::Backlog => largest(&mut t.backlog.iter().map(|b| (b.value, b.labels.clone())))
            .map(|l| SparkKey::Backlog(target.clone(), l)),
        AlertValue::Gauge => largest(
            &mut t
                .sse
                .iter()
                .filter(|g| panel.as_deref() == Some(g.title.as_str()))
                .map(|g| (g.value, g.labels.clone())),
        )
        .map(|l| SparkKey::Sse(target.clone(), l)),
        _ => None,
    }
}
