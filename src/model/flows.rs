//! The month's flows, per nation and per firm: what the mechanisms add up as they run and the
//! report reads (`demand_h100e`, `delivered_h100e`, … in `timeseries.csv`). Cleared at the start
//! of each month and added into run totals at its end. A plain record: each mechanism adds to
//! the flows it causes (supply: production; export rules: denials; allocation: shipping).

/// Flows of one month (or, summed, of the run).
#[derive(Clone, Debug, Default)]
pub struct Flows {
    pub demand_h100e: Vec<f64>,
    pub delivered_h100e: Vec<f64>,
    pub denied_h100e: Vec<f64>,
    pub unfilled_h100e: Vec<f64>,
    pub production_units: Vec<u64>,
    pub shipped_units: Vec<u64>,
    pub export_units: Vec<u64>,
    /// Licence revenue shares paid to each exporting nation's government (M3), USD.
    pub revenue_share_usd: Vec<f64>,
}

impl Flows {
    pub fn new(nations: usize, firms: usize) -> Flows {
        Flows {
            demand_h100e: vec![0.0; nations],
            delivered_h100e: vec![0.0; nations],
            denied_h100e: vec![0.0; nations],
            unfilled_h100e: vec![0.0; nations],
            production_units: vec![0; firms],
            shipped_units: vec![0; firms],
            export_units: vec![0; firms],
            revenue_share_usd: vec![0.0; nations],
        }
    }

    pub fn clear(&mut self) {
        for v in [
            &mut self.demand_h100e,
            &mut self.delivered_h100e,
            &mut self.denied_h100e,
            &mut self.unfilled_h100e,
            &mut self.revenue_share_usd,
        ] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        for v in [
            &mut self.production_units,
            &mut self.shipped_units,
            &mut self.export_units,
        ] {
            v.iter_mut().for_each(|x| *x = 0);
        }
    }

    /// Adds this month's flows into running totals.
    pub fn add_to(&self, totals: &mut Flows) {
        let add_f = |t: &mut Vec<f64>, m: &Vec<f64>| t.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        let add_u = |t: &mut Vec<u64>, m: &Vec<u64>| t.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        add_f(&mut totals.demand_h100e, &self.demand_h100e);
        add_f(&mut totals.delivered_h100e, &self.delivered_h100e);
        add_f(&mut totals.denied_h100e, &self.denied_h100e);
        add_f(&mut totals.unfilled_h100e, &self.unfilled_h100e);
        add_f(&mut totals.revenue_share_usd, &self.revenue_share_usd);
        add_u(&mut totals.production_units, &self.production_units);
        add_u(&mut totals.shipped_units, &self.shipped_units);
        add_u(&mut totals.export_units, &self.export_units);
    }
}
