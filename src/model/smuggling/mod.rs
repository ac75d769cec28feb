//! M9 Transshipment: chips reaching a prohibited destination through third-country hubs.
//!
//! Code for `docs/model.md` § M9, in two parts:
//! - [`intermediaries`]: the agents — populations of intermediary firms in a hub that import,
//!   decide whether to divert, and are detected (their formulas are in that module's doc);
//! - [`hubs`]: the world's side — what each hub asks for (premium-driven utilisation within
//!   the hub's licence room, M3), the grey-market premium at the destination, and where the
//!   imported units end up (installed in the hub, diverted, seized), and the caseload of
//!   investigations against intermediaries;
//! - [`remote_access`]: compute the destination rents in the hubs' data centres.
//!
//! In the month, hubs claim supply during allocation (after nations' orders are licensed) and
//! transship right after it; diverted units meet some of the destination's backlog (M2).
//!
//! The items of [`intermediaries`] are re-exported here (`chipdip::model::smuggling::*`).

pub mod hubs;
pub mod intermediaries;
pub mod remote_access;

pub use intermediaries::*;
