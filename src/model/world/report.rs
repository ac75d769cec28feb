//! What the world reports (see [`crate::model::record`]): the month's series per nation, per
//! firm and per hub, and the end-of-run outcomes. The order of the calls is the column order of
//! `timeseries.csv` and `summary.csv` (`Setup::series_names`, `Setup::summary_names`).

use super::World;
use crate::model::diplomacy::COUNTED;
use crate::model::record::{Metric, Observer};
use crate::model::smuggling::PopulationMonth;

/// Firms whose installed H100e [`World::observe_installed`] sums into a buffer on the stack
/// (more into one on the heap).
const FIRMS_ON_STACK: usize = 16;

impl World<'_> {
    /// Installed H100e of `nation` from firm `firm` (all firms when `None`): the definition
    /// [`World::installed_h100e_by_firm`] works out in one pass.
    #[cfg(test)]
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
        let (mut on_stack, mut on_heap) = ([0.0; FIRMS_ON_STACK], Vec::new());
        let by_firm = match on_stack.get_mut(..p.firms.len()) {
            Some(by_firm) => by_firm,
            None => {
                on_heap.resize(p.firms.len(), 0.0);
                &mut on_heap[..]
            }
        };
        let total = self.installed_h100e_by_firm(i, by_firm);
        o.value(e, Metric::Plain("installed_h100e"), total);
        for (firm, &h100e) in p.firms.iter().zip(&*by_firm) {
            o.value(e, Metric::Per("installed_h100e", &firm.id), h100e);
        }
    }

    /// [`World::installed_h100e`] of `nation` for all firms (returned) and for each firm (into
    /// `by_firm`, one per firm) in one pass over the products: each sum adds the same terms in
    /// the same order from the same start (`-0.0`, as `Iterator::sum` of `f64`), so the bits
    /// are those of the separate sums.
    fn installed_h100e_by_firm(&self, nation: usize, by_firm: &mut [f64]) -> f64 {
        by_firm.iter_mut().for_each(|x| *x = -0.0);
        let mut total = -0.0;
        for (j, prod) in self.params().products.iter().enumerate() {
            let h100e = self.stock.installed(nation, j) as f64 * prod.h100e_per_unit.value();
            total += h100e;
            by_firm[prod.vendor] += h100e;
        }
        total
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

#[cfg(test)]
mod tests {
    use crate::model::fixture;
    use crate::model::world::World;

    #[test]
    fn installed_by_firm_is_reported_for_more_firms_than_the_stack_buffer_holds() {
        let mut p = fixture::params();
        p.nations[fixture::MYS].demand_h100e_per_month = 3000.0;
        let mut more = p.clone();
        // Firms with no products: they install nothing, after the fixture's own.
        for k in more.firms.len()..super::FIRMS_ON_STACK + 3 {
            let mut firm = more.firms[0].clone();
            firm.id = format!("extra{k}");
            more.firms.push(firm);
            for r in &mut more.regulators {
                r.guidance.push(crate::model::params::GuidanceScope::None);
            }
            for n in &mut more.nations {
                n.ecosystem.push(0.0);
            }
        }
        let (few, many) = (fixture::setup(p, 6), fixture::setup(more, 6));
        let (mut a, mut b) = (World::new(&few, 5), World::new(&many, 5));
        let nf = few.snapshots[0].params.firms.len();
        for _ in 0..6 {
            a.step(&mut Vec::new()).unwrap();
            b.step(&mut Vec::new()).unwrap();
        }
        let mine = fixture::MYS;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.observe_installed(&mut x, mine);
        b.observe_installed(&mut y, mine);
        assert!(x[0] > 0.0, "MYS installs chips");
        assert_eq!(y.len(), 1 + super::FIRMS_ON_STACK + 3);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&y[..1 + nf]),
            bits(&x),
            "the fixture's firms, as with few"
        );
        assert!(y[1 + nf..].iter().all(|&h| h == 0.0));
    }

    #[test]
    fn installed_by_firm_in_one_pass_has_the_bits_of_the_separate_sums() {
        let mut p = fixture::params();
        p.nations
            .iter_mut()
            .for_each(|n| n.demand_h100e_per_month = 3000.0);
        let setup = fixture::setup(p, 8);
        let mut world = World::new(&setup, 11);
        let firms = world.params().firms.len();
        for t in 0..8 {
            world.step(&mut Vec::new()).unwrap();
            for i in 0..world.params().nations.len() {
                let mut by_firm = vec![f64::NAN; firms];
                let total = world.installed_h100e_by_firm(i, &mut by_firm);
                let direct = world.installed_h100e(i, None);
                assert_eq!(total.to_bits(), direct.to_bits(), "month {t}, nation {i}");
                assert!(t < 2 || direct > 0.0 || i != fixture::MYS);
                for (f, x) in by_firm.iter().enumerate() {
                    let direct = world.installed_h100e(i, Some(f));
                    assert_eq!(
                        x.to_bits(),
                        direct.to_bits(),
                        "month {t}, nation {i}, firm {f}"
                    );
                }
            }
        }
    }
}
