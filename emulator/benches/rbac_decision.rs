//! The cost of one RBAC decision, with 1,000 and 100,000 role assignments held by other principals.
//!
//!     cargo bench --bench rbac_decision
//!
//! The decision walks the request scope's ancestors and looks each up in the caller's own
//! assignments, so its cost should not grow with assignments elsewhere.

use std::time::Instant;

use azureml_emulator::domain::rbac::{PrincipalType, Rbac, RoleAssignment};
use azureml_emulator::domain::scope::Scope;
use azureml_emulator::domain::ObjectId;
use uuid::Uuid;

const SUB: &str = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

fn assignment(principal: ObjectId, role: &str, scope: &str) -> RoleAssignment {
    RoleAssignment {
        name: Uuid::new_v4(),
        scope: Scope::parse(scope).unwrap(),
        role_definition: Uuid::parse_str(role).unwrap(),
        principal_id: principal,
        principal_type: PrincipalType::User,
        description: None,
        created_on: String::new(),
        updated_on: String::new(),
        created_by: None,
    }
}

fn main() {
    let caller = ObjectId(Uuid::new_v4());
    let workspace = format!("{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws");
    let request = Scope::parse(&format!("{workspace}/onlineEndpoints/ep")).unwrap();
    for n in [1_000usize, 100_000] {
        let others: Vec<ObjectId> = (0..n / 10).map(|_| ObjectId(Uuid::new_v4())).collect();
        let mut all: Vec<RoleAssignment> = (0..n)
            .map(|i| {
                assignment(
                    others[i % others.len()],
                    READER,
                    &format!(
                        "{SUB}/resourceGroups/rg{}/providers/Microsoft.Storage/storageAccounts/sa{i}",
                        i % 97
                    ),
                )
            })
            .collect();
        all.push(assignment(caller, CONTRIBUTOR, &workspace));
        let rbac = Rbac::new(vec![], all);
        let iterations = 2_000_000u32;
        let mut allowed = 0u32;
        let start = Instant::now();
        for i in 0..iterations {
            let action = if i % 2 == 0 {
                "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read"
            } else {
                "Microsoft.Authorization/roleAssignments/write"
            };
            allowed += u32::from(rbac.allows(caller, action, &request));
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
        assert_eq!(allowed, iterations / 2, "Contributor reads but may not assign roles");
        println!("assignments={n:>7}  decision={ns:>6.0} ns  (allow and deny alternating)");
    }
}
