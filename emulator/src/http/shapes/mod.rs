//! Wire shapes more than one surface answers with: the control API shows role assignments as ARM
//! does and web services as model management does. Surfaces import these, never each other.

pub mod assignment;
pub mod service;
