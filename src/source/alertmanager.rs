//! The Alertmanager source: the configured Alertmanager's alerts and silences, read every
//! `interval` while the cockpit runs. An unreachable one is said in words and read again next
//! round. Reads only: silences are created and expired by actions (`actions::am`).

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::alertmanager::{AlertFilter, AmClient};
use crate::client::api::{ApiSpec, Auth};
use crate::config::alertmanager::AlertmanagerConfig;
use crate::obs::{now_ms, Observation};

/// Reads the configured Alertmanager's alerts and silences every `interval` until the cockpit
/// goes; an unreachable one is said in words and read again next round.
pub fn spawn(am: &AlertmanagerConfig, tx: mpsc::Sender<Observation>) -> JoinHandle<()> {
    let mut spec = ApiSpec::new(am.url.to_string());
    spec.auth = am.token.clone().map_or(Auth::None, Auth::Bearer);
    spec.tenant.clone_from(&am.tenant);
    let interval = am.interval;
    tokio::spawn(async move {
        let client = match AmClient::new(&spec) {
            Ok(c) => c,
            Err(e) => {
                let _ = tx
                    .send(Observation::Alertmanager {
                        at_ms: now_ms(),
                        answer: Err(e.to_string()),
                    })
                    .await;
                return;
            }
        };
        loop {
            let answer = match client.alerts(&AlertFilter::default()).await {
                Ok(alerts) => client
                    .silences()
                    .await
                    .map(|s| Box::new((alerts, s)))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if tx
                .send(Observation::Alertmanager {
                    at_ms: now_ms(),
                    answer,
                })
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    })
}
