//! What the world reports (see [`crate::model::record`]): the month's series per nation, per
//! firm and per hub, and the end-of-run outcomes. The order of the calls is the column order of
//! `timeseries.csv` and `summary.csv` (`Setup::series_names`, `Setup::summary_names`).

use super::World;
use crate::model::diplomacy::COUNTED;
use crate::model::record::{Metric, Observer};
use crate::model::smuggling::PopulationMonth;

impl World<'_> {
    /// Installed H100e of `nation` from firm `firm` (all firms when `None`).
    fn installed_h100e(&self, nation: usize, firm: Option<usize>) -> f64 {
        let p = self.params();
        p.products
            .iter()
            .enumerate()
            .filter(|(_, prod)| firm.is_none_or(|f| prod.vendor == f))
            .map(|(j, prod)| self.stock.installed(nation, j) as f64 * prod.h100e_per_unit.value())
            .sum()
    }

    /// The month's series, per nation then per firm (see `Setup::series_names`).
    pub fn observe(&self, o: &mut impl Observer) {
        let p = self.params();
        for (i, n) in p.nations.iter().enumerate() {
            let e = n.id.as_str();
            o.value(e, Metric::Plain("demand_h100e"), self.flows.demand_h100e[i]);
            o.value(
                e,
                Metric::Plain("delivered_h100e"),
                self.flows.delivered_h100e[i],
            );
            o.value(e, Metric::Plain("denied_h100e"), self.flows.denied_h100e[i]);
            o.value(
                e,
                Metric::Plain("unfilled_h100e"),
                self.flows.unfilled_h100e[i],
            );
            o.value(e, Metric::Plain("backlog_h100e"), self.demand.backlog(i));
            o.value(e, Metric::Plain("alignment"), self.alignment.values()[i]);
            self.observe_installed(o, i);
        }
        for (f, firm) in p.firms.iter().enumerate() {
            let e = firm.id.as_str();
            let inventory: u64 = (0..p.products.len())
                .filter(|&j| p.products[j].vendor == f)
                .map(|j| self.supply.inventory(j))
                .sum();
            o.value(
                e,
                Metric::Plain("production_units"),
                self.flows.production_units[f] as f64,
            );
            o.value(
                e,
                Metric::Plain("shipped_units"),
                self.flows.shipped_units[f] as f64,
            );
            o.value(
                e,
                Metric::Plain("export_units"),
                self.flows.export_units[f] as f64,
            );
            o.value(e, Metric::Plain("inventory_units"), inventory as f64);
        }
        self.observe_hubs(o);
    }

    /// Per hub (M9): the month's imports, diversion, seizures, detections, and intermediaries
    /// free to trade; per destination: units diverted into it.
    fn observe_hubs(&self, o: &mut impl Observer) {
        let p = self.params();
        for (h, hub) in p.hubs.iter().enumerate() {
            let e = p.nations[hub.nation].id.as_str();
            let (m, _) = self.hubs.outcome(h);
            observe_hub_flows(o, e, m);
            let hub_series = [
                ("hub_diverters", m.active_diverters as f64),
                (
                    "hub_active_intermediaries",
                    self.hubs.active_intermediaries(h) as f64,
                ),
                ("hub_grey_premium_usd_per_unit", self.hubs.premium(h)),
                ("hub_route_share", self.hubs.route_share(p, h)),
                (
                    "hub_investigations_active",
                    self.hubs.hub_investigations_active(h) as f64,
                ),
                ("hub_remote_access_h100e", self.hubs.remote_access(h)),
            ];
            for (name, value) in hub_series {
                o.value(e, Metric::Plain(name), value);
            }
        }
        for (i, n) in p.nations.iter().enumerate() {
            if p.hubs.iter().any(|h| h.destination == i) {
                o.value(
                    &n.id,
                    Metric::Plain("diverted_in_h100e"),
                    self.hubs.diverted_in_h100e()[i],
                );
                o.value(
                    &n.id,
                    Metric::Plain("remote_access_h100e"),
                    self.hubs.remote_access_in(i),
                );
            }
            if self.is_enforcer(i) {
                let (active, opened, closed) = self.hubs.investigations(i);
                let e = n.id.as_str();
                o.value(e, Metric::Plain("investigations_active"), active as f64);
                o.value(e, Metric::Plain("investigations_opened"), opened as f64);
                o.value(e, Metric::Plain("investigations_closed"), closed as f64);
            }
        }
    }

    /// Whether `nation` may investigate diversion (M9): the regulator of a hub's product, or a
    /// hub (fixed for a scenario, so the columns are).
    fn is_enforcer(&self, nation: usize) -> bool {
        let p = self.params();
        p.hubs.iter().any(|h| {
            h.nation == nation
                || p.products[h.product]
                    .regulator
                    .is_some_and(|r| p.regulators[r].nation == nation)
        })
    }

    /// Whether `nation` has chips installed from a foreign patron's firms (a power with a
    /// patron policy, M10): "ended with rival chips installed".
    fn rival_stack_installed(&self, nation: usize) -> bool {
        let p = self.params();
        p.products.iter().enumerate().any(|(j, prod)| {
            let home = p.firms[prod.vendor].home;
            home != nation
                && p.regulators
                    .iter()
                    .any(|r| r.nation == home && r.patron.is_some())
                && self.stock.installed(nation, j) > 0
        })
    }

    /// Installed H100e of nation `i`, in all and by firm.
    fn observe_installed(&self, o: &mut impl Observer, i: usize) {
        let p = self.params();
        let e = p.nations[i].id.as_str();
        o.value(
            e,
            Metric::Plain("installed_h100e"),
            self.installed_h100e(i, None),
        );
        for (f, firm) in p.firms.iter().enumerate() {
            o.value(
                e,
                Metric::Per("installed_h100e", &firm.id),
                self.installed_h100e(i, Some(f)),
            );
        }
    }

    /// End-of-run outcomes (see `Setup::summary_names`): stocks at the end, totals over the run.
    pub fn summarise(&self, o: &mut impl Observer) {
        let p = self.params();
        for (i, n) in p.nations.iter().enumerate() {
            let e = n.id.as_str();
            self.observe_installed(o, i);
            o.value(
                e,
                Metric::Plain("denied_h100e"),
                self.totals.denied_h100e[i],
            );
            o.value(
                e,
                Metric::Plain("unfilled_h100e"),
                self.totals.unfilled_h100e[i],
            );
            o.value(e, Metric::Plain("alignment"), self.alignment.values()[i]);
            for (k, kind) in COUNTED.iter().enumerate() {
                o.value(
                    e,
                    Metric::Per(kind.name(), "count"),
                    self.diplomacy.count(i, k) as f64,
                );
            }
            o.value(
                e,
                Metric::Plain("rival_stack_installed"),
                f64::from(u8::from(self.rival_stack_installed(i))),
            );
        }
        for (f, firm) in p.firms.iter().enumerate() {
            let e = firm.id.as_str();
            let shipped = self.totals.shipped_units[f];
            let share = if shipped > 0 {
                self.totals.export_units[f] as f64 / shipped as f64
            } else {
                0.0
            };
            o.value(
                e,
                Metric::Plain("production_units"),
                self.totals.production_units[f] as f64,
            );
            o.value(e, Metric::Plain("shipped_units"), shipped as f64);
            o.value(e, Metric::Plain("export_share"), share);
        }
        for r in &p.regulators {
            o.value(
                &p.nations[r.nation].id,
                Metric::Plain("licence_revenue_share_usd"),
                self.totals.revenue_share_usd[r.nation],
            );
        }
        for (h, hub) in p.hubs.iter().enumerate() {
            let e = p.nations[hub.nation].id.as_str();
            let (_, m) = self.hubs.outcome(h);
            observe_hub_flows(o, e, m);
            o.value(e, Metric::Plain("hub_fines_usd"), m.fines_usd as f64);
        }
        for (i, n) in p.nations.iter().enumerate() {
            if p.hubs.iter().any(|h| h.destination == i) {
                o.value(
                    &n.id,
                    Metric::Plain("diverted_units"),
                    self.hubs.diverted_in_units_total(i) as f64,
                );
            }
            if self.is_enforcer(i) {
                let (opened, closed) = self.hubs.investigations_total(i);
                let e = n.id.as_str();
                o.value(e, Metric::Plain("investigations_opened"), opened as f64);
                o.value(e, Metric::Plain("investigations_closed"), closed as f64);
            }
        }
    }
}

/// A hub's imports, diversion, seizures and detections (of a month or of the run).
fn observe_hub_flows(o: &mut impl Observer, entity: &str, m: &PopulationMonth) {
    o.value(
        entity,
        Metric::Plain("hub_imported_units"),
        m.imported_units as f64,
    );
    o.value(
        entity,
        Metric::Plain("hub_diverted_units"),
        m.diverted_units as f64,
    );
    o.value(
        entity,
        Metric::Plain("hub_seized_units"),
        m.seized_units as f64,
    );
    o.value(entity, Metric::Plain("hub_detections"), m.detections as f64);
    o.value(entity, Metric::Plain("hub_entrants"), m.entrants as f64);
    o.value(entity, Metric::Plain("hub_exits"), m.exits as f64);
}
