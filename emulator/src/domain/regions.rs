//! Azure regions' approximate coordinates (the `latitude`/`longitude` that
//! `az account list-locations` reports, rounded to a tenth of a degree) and the great-circle
//! distance between two regions. Microsoft's article on Azure ML web-service tokens warns that the
//! token call takes longer the farther the cluster's region is from the workspace's; the emulator
//! turns the distance into latency with a configurable ms-per-1000-km figure
//! ([`crate::settings`]).

/// `(name, latitude, longitude)`.
const REGIONS: &[(&str, f64, f64)] = &[
    ("eastus", 37.4, -79.8),
    ("eastus2", 36.7, -78.4),
    ("centralus", 41.6, -93.6),
    ("northcentralus", 41.9, -87.6),
    ("southcentralus", 29.4, -98.5),
    ("westcentralus", 40.9, -110.2),
    ("westus", 37.8, -122.4),
    ("westus2", 47.2, -119.9),
    ("westus3", 33.4, -112.1),
    ("canadacentral", 43.7, -79.4),
    ("canadaeast", 46.8, -71.2),
    ("brazilsouth", -23.6, -46.6),
    ("northeurope", 53.3, -6.3),
    ("westeurope", 52.4, 4.9),
    ("uksouth", 50.9, -0.8),
    ("ukwest", 53.4, -3.1),
    ("francecentral", 46.3, 2.4),
    ("germanywestcentral", 50.1, 8.7),
    ("switzerlandnorth", 47.5, 8.6),
    ("norwayeast", 59.9, 10.8),
    ("swedencentral", 60.7, 17.1),
    ("polandcentral", 52.2, 21.0),
    ("italynorth", 45.5, 9.2),
    ("uaenorth", 25.3, 55.3),
    ("southafricanorth", -25.7, 28.2),
    ("centralindia", 18.6, 73.9),
    ("southindia", 12.9, 80.2),
    ("eastasia", 22.3, 114.2),
    ("southeastasia", 1.3, 103.8),
    ("japaneast", 35.7, 139.8),
    ("japanwest", 34.7, 135.5),
    ("koreacentral", 37.6, 127.0),
    ("australiaeast", -33.9, 151.2),
    ("australiasoutheast", -37.8, 144.9),
];

/// A region's coordinates, by name (case-insensitive).
pub fn coordinates(region: &str) -> Option<(f64, f64)> {
    REGIONS
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(region))
        .map(|&(_, lat, lon)| (lat, lon))
}

/// The regions the table knows.
pub fn known() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|(name, _, _)| *name)
}

/// Great-circle distance in kilometres (haversine, Earth radius 6371 km); none when either region
/// is not in the table.
pub fn distance_km(a: &str, b: &str) -> Option<f64> {
    let (lat1, lon1) = coordinates(a)?;
    let (lat2, lon2) = coordinates(b)?;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Some(2.0 * 6371.0 * h.sqrt().asin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance_km("eastus", "EASTUS"), Some(0.0));
        let atlantic = distance_km("eastus", "westeurope").unwrap();
        assert!((6000.0..7000.0).contains(&atlantic), "{atlantic}");
        let near = distance_km("eastus", "eastus2").unwrap();
        assert!(near < 300.0, "{near}");
        assert!(distance_km("eastus", "mars").is_none());
        assert!(known().count() > 30);
    }
}
