//! PLACEHOLDER until the real sketch lands (exact, unbounded): same API.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct QuantileSketch {
    v: Vec<f64>,
}
impl QuantileSketch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, x: f64) {
        self.v.push(x)
    }
    pub fn merge(&mut self, o: &QuantileSketch) {
        self.v.extend(&o.v)
    }
    pub fn count(&self) -> u64 {
        self.v.len() as u64
    }
    pub fn mean(&self) -> f64 {
        self.v.iter().sum::<f64>() / self.v.len() as f64
    }
    pub fn quantile(&self, q: f64) -> f64 {
        let mut s = self.v.clone();
        s.sort_by(f64::total_cmp);
        s[((q * s.len() as f64).ceil() as usize).max(1) - 1]
    }
    pub fn write_to<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&(self.v.len() as u64).to_le_bytes())?;
        for x in &self.v {
            w.write_all(&x.to_le_bytes())?;
        }
        Ok(())
    }
    pub fn read_from<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        let n = u64::from_le_bytes(b);
        let mut v = Vec::new();
        for _ in 0..n {
            r.read_exact(&mut b)?;
            v.push(f64::from_le_bytes(b));
        }
        Ok(Self { v })
    }
}
