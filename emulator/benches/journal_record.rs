//! The cost of recording one journal entry like a scoring request's, on one thread and on two
//! threads at once (each recording into its own part).
//!
//!     cargo bench --bench journal_record

use std::time::Instant;

use azureml_emulator::clock::Clock;
use azureml_emulator::decision::journal::{Field, Journal};
use azureml_emulator::http::surface::{RequestInfo, Surface};
use uuid::Uuid;

fn record(j: &Journal, clock: &Clock, info: RequestInfo) {
    j.record(|e| {
        e.begin(info, ("POST", "/aci/aci-service-1/score"), clock, "authentication", true);
        e.set(Field::Reason, "authenticated; the operation needs no role");
        e.set(Field::PrincipalName, "key holder");
        e.principal_kind = Some("key-holder");
        e.set(Field::Scope, "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/ml-example-rg/providers/Microsoft.MachineLearningServices/workspaces/ml-example/services/aci-service-1");
    });
}

fn per_record(threads: usize, capacity: usize, n: u32) -> f64 {
    let j = Journal::new(capacity);
    let clock = Clock::system();
    let info = RequestInfo {
        id: Uuid::new_v4(),
        surface: Surface::Scoring,
    };
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (0..n).for_each(|_| record(&j, &clock, info)));
        }
    });
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    for capacity in [16, 1000] {
        for threads in [1, 2] {
            let ns = per_record(threads, capacity, 2_000_000);
            println!("capacity {capacity:>5}, {threads} thread(s): {ns:>6.1} ns per entry (per thread)");
        }
    }
}
