//! Records the versions of the crates that determine the numbers (random generators,
//! distributions) from Cargo.lock, so every manifest says exactly what produced it.

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let wanted = ["rand", "rand_core", "rand_distr", "rayon", "csv", "toml"];
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && wanted.contains(&n.as_str())
        {
            found.push(format!("{n} {}", v.trim_matches('"')));
        }
    }
    println!("cargo:rustc-env=CHIPDIP_DEP_VERSIONS={}", found.join(", "));
}
