//! The emulated world as plain data: ids, tenants, principals, resources. No actix, no SQL.

pub mod audience;
pub mod certificate;
pub mod grant;
pub mod ids;
pub mod operations;
pub mod rbac;
pub mod regions;
pub mod scope;
pub mod secret;
pub mod seed;
pub mod services;
pub mod world;

pub use ids::{ClientId, ObjectId, SubscriptionId, TenantId};
pub use world::World;
