//! Distances, bearings and magnetic variation on the WGS 84 ellipsoid, for the mesh answers
//! (where is the dinghy, where is everyone).
//!
//! - [`distance_m`]: a quick great-circle distance for the track's downsampling, the stays and
//!   the distance sailed, where metres over a day's track are good enough.
//! - Distance and initial true bearing: Vincenty's inverse formula on WGS 84 (sub-millimetre
//!   against Karney's geodesics for any two points a radio can hear each other at; it does not
//!   converge for nearly antipodal points, which get `None`).
//! - Magnetic bearing: true bearing minus the declination of the NOAA/BGS World Magnetic Model
//!   (WMM2020 and WMM2025, crate `world_magnetic_model`) with its 1σ uncertainty; outside the
//!   model's dates (2020-01-01 to 2029-12-31) a clear error instead of a number.

use world_magnetic_model::time::Date;
use world_magnetic_model::uom::si::angle::degree;
use world_magnetic_model::uom::si::f32::{Angle, Length};
use world_magnetic_model::uom::si::length::meter;
use world_magnetic_model::GeomagneticField;

/// Great-circle distance in metres (haversine on a sphere of the mean Earth radius: metres
/// of error over a day's track, which is all a downsampler and a stay detector need).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let (dla, dlo) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const B: f64 = A * (1.0 - F);

/// Distance (m) and initial bearing (degrees true, 0–360) from `a` to `b` (lat, lon degrees).
pub fn inverse(a: (f64, f64), b: (f64, f64)) -> Option<(f64, f64)> {
    let l = (b.1 - a.1).to_radians();
    let u1 = ((1.0 - F) * a.0.to_radians().tan()).atan();
    let u2 = ((1.0 - F) * b.0.to_radians().tan()).atan();
    let (su1, cu1, su2, cu2) = (u1.sin(), u1.cos(), u2.sin(), u2.cos());
    let mut lambda = l;
    for _ in 0..200 {
        let (sl, cl) = (lambda.sin(), lambda.cos());
        let sin_sigma = ((cu2 * sl).powi(2) + (cu1 * su2 - su1 * cu2 * cl).powi(2)).sqrt();
        if sin_sigma == 0.0 {
            return Some((0.0, 0.0));
        }
        let cos_sigma = su1 * su2 + cu1 * cu2 * cl;
        let sigma = sin_sigma.atan2(cos_sigma);
        let sin_alpha = cu1 * cu2 * sl / sin_sigma;
        let cos2_alpha = 1.0 - sin_alpha * sin_alpha;
        let cos_2sm = if cos2_alpha == 0.0 { 0.0 } else { cos_sigma - 2.0 * su1 * su2 / cos2_alpha };
        let c = F / 16.0 * cos2_alpha * (4.0 + F * (4.0 - 3.0 * cos2_alpha));
        let previous = lambda;
        lambda = l
            + (1.0 - c)
                * F
                * sin_alpha
                * (sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1.0 + 2.0 * cos_2sm * cos_2sm)));
        if (lambda - previous).abs() < 1e-12 {
            let u_sq = cos2_alpha * (A * A - B * B) / (B * B);
            let big_a = 1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)));
            let big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)));
            let delta_sigma = big_b
                * sin_sigma
                * (cos_2sm
                    + big_b / 4.0
                        * (cos_sigma * (-1.0 + 2.0 * cos_2sm * cos_2sm)
                            - big_b / 6.0
                                * cos_2sm
                                * (-3.0 + 4.0 * sin_sigma * sin_sigma)
                                * (-3.0 + 4.0 * cos_2sm * cos_2sm)));
            let distance = B * big_a * (sigma - delta_sigma);
            let (sl, cl) = (lambda.sin(), lambda.cos());
            let bearing = (cu2 * sl).atan2(cu1 * su2 - su1 * cu2 * cl).to_degrees().rem_euclid(360.0);
            return Some((distance, bearing));
        }
    }
    None
}

/// Why there is no magnetic bearing.
#[derive(Debug, Clone, PartialEq)]
pub enum MagneticError {
    /// The date is outside the bundled models.
    OutsideModel(String),
}

impl std::fmt::Display for MagneticError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MagneticError::OutsideModel(why) => write!(
                f,
                "no magnetic variation: the World Magnetic Model (WMM2020/WMM2025) covers 2020-01-01 to 2029-12-31 ({why})"
            ),
        }
    }
}

/// Declination (degrees, east positive) and its 1σ uncertainty at sea level on `day` (days
/// since 1970-01-01).
pub fn declination(lat: f64, lon: f64, day: i64) -> Result<(f64, f64), MagneticError> {
    let date =
        Date::from_julian_day((day + 2_440_588) as i32).map_err(|e| MagneticError::OutsideModel(e.to_string()))?;
    let field = GeomagneticField::new(
        Length::new::<meter>(0.0),
        Angle::new::<degree>(lat as f32),
        Angle::new::<degree>(lon as f32),
        date,
    )
    .map_err(|e| MagneticError::OutsideModel(e.to_string()))?;
    Ok((f64::from(field.declination().get::<degree>()), f64::from(field.declination_uncertainty().get::<degree>())))
}

/// A true bearing as magnetic, with the declination's uncertainty.
pub fn magnetic(bearing_true: f64, lat: f64, lon: f64, day: i64) -> Result<(f64, f64), MagneticError> {
    let (d, sigma) = declination(lat, lon, day)?;
    Ok(((bearing_true - d).rem_euclid(360.0), sigma))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against Karney's geodesics (geographiclib 2.1, PyPI), tests/fixtures/geodesic.json.
    #[test]
    fn distances_and_bearings_match_geographiclib() {
        let cases: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../tests/fixtures/geodesic.json")).unwrap();
        for c in &cases {
            let p = |v: &serde_json::Value| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
            let (d, b) = inverse(p(&c["from"]), p(&c["to"])).unwrap();
            let (want_d, want_b) = (c["distance_m"].as_f64().unwrap(), c["bearing_deg"].as_f64().unwrap());
            assert!((d - want_d).abs() < 1e-3, "{c}: {d}");
            let db = (b - want_b + 540.0).rem_euclid(360.0) - 180.0;
            assert!(db.abs() < 1e-6, "{c}: {b}");
        }
        assert_eq!(inverse((10.0, 10.0), (10.0, 10.0)), Some((0.0, 0.0)));
        // The quick one: a minute of latitude is a nautical mile, within the sphere's error.
        assert!(distance_m((43.0, 5.0), (43.0, 5.0)) < 1e-9);
        assert!((distance_m((43.0, 5.0), (43.0 + 1.0 / 60.0, 5.0)) - 1853.2).abs() < 1.0);
        let (d, _) = inverse((43.0, 5.0), (43.1, 5.1)).unwrap();
        assert!((distance_m((43.0, 5.0), (43.1, 5.1)) - d).abs() / d < 0.005);
    }

    /// The cross-check of marine.md §5 (pygeomag 1.1.0 gives the same): plaka 2026-07-01 and
    /// Groix 2023-06-23; and the model's limits.
    #[test]
    fn declination_from_the_world_magnetic_model() {
        let day = |d: &str| crate::sim::parse_date(d).unwrap();
        let (d, sigma) = declination(60.0845, 23.5391, day("2026-07-01")).unwrap();
        assert!((d - 9.901).abs() < 0.001, "{d}");
        assert!(sigma > 0.0 && sigma < 1.0, "{sigma}");
        let (d, _) = declination(47.6436, -3.4463, day("2023-06-23")).unwrap();
        assert!((d - -0.045).abs() < 0.001, "{d}");
        let e = declination(47.6, -3.4, day("2030-01-01")).unwrap_err();
        assert!(e.to_string().contains("2020-01-01 to 2029-12-31"), "{e}");
        assert!(declination(47.6, -3.4, day("2018-06-01")).is_err());
        let (m, _) = magnetic(5.0, 60.0845, 23.5391, day("2026-07-01")).unwrap();
        assert!((m - (5.0 - 9.901 + 360.0)).abs() < 0.001, "{m}");
    }
}
