//! WGS-84 points, great-circle distance and point-in-polygon for map outlines.

use std::fmt;

/// Mean Earth radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Longest search radius accepted, in metres (a whole province fits in it).
pub const MAX_SEARCH_RADIUS_M: f64 = 500_000.0;

/// A WGS-84 coordinate whose range has been checked.
#[derive(Clone, Copy, PartialEq, serde::Serialize)]
pub struct LatLng {
    lat: f64,
    lng: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude must be a number between -90 and 90, got {0}")]
    LatitudeOutOfRange(f64),
    #[error("longitude must be a number between -180 and 180, got {0}")]
    LongitudeOutOfRange(f64),
    #[error("radius_m must be greater than 0, got {0}")]
    RadiusNotPositive(f64),
    #[error("radius_m must be at most {max} metres, got {0}", max = MAX_SEARCH_RADIUS_M)]
    RadiusTooLarge(f64),
}

impl LatLng {
    pub fn new(lat: f64, lng: f64) -> Result<LatLng, GeoError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::LatitudeOutOfRange(lat));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(GeoError::LongitudeOutOfRange(lng));
        }
        Ok(LatLng { lat, lng })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lng(self) -> f64 {
        self.lng
    }

    /// Great-circle distance (haversine), in metres.
    pub fn distance_m(self, other: LatLng) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlng = (other.lng - self.lng).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// A longitude/latitude box that surely contains every point within `radius_m`.
    pub fn bounding_box(self, radius_m: f64) -> BoundingBox {
        let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
        let lat_min = (self.lat - dlat).max(-90.0);
        let lat_max = (self.lat + dlat).min(90.0);
        let widest_lat = lat_min.abs().max(lat_max.abs());
        let cos = widest_lat.to_radians().cos();
        let dlng = if widest_lat >= 89.9 || cos <= 1e-9 { 180.0 } else { (radius_m / (EARTH_RADIUS_M * cos)).to_degrees().min(180.0) };
        BoundingBox { lat_min, lat_max, lng_min: self.lng - dlng, lng_max: self.lng + dlng }
    }
}

impl fmt::Debug for LatLng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:.6}, {:.6})", self.lat, self.lng)
    }
}

/// A search radius that has been checked: positive, finite, at most [`MAX_SEARCH_RADIUS_M`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiusM(f64);

impl RadiusM {
    pub fn new(radius_m: f64) -> Result<RadiusM, GeoError> {
        if !radius_m.is_finite() || radius_m <= 0.0 {
            return Err(GeoError::RadiusNotPositive(radius_m));
        }
        if radius_m > MAX_SEARCH_RADIUS_M {
            return Err(GeoError::RadiusTooLarge(radius_m));
        }
        Ok(RadiusM(radius_m))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// Longitudes may run past ±180 for boxes that cross the antimeridian; [`BoundingBox::contains`] wraps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub lat_min: f64,
    pub lat_max: f64,
    pub lng_min: f64,
    pub lng_max: f64,
}

impl BoundingBox {
    pub fn contains(&self, point: LatLng) -> bool {
        if point.lat < self.lat_min || point.lat > self.lat_max {
            return false;
        }
        [point.lng, point.lng - 360.0, point.lng + 360.0].iter().any(|lng| *lng >= self.lng_min && *lng <= self.lng_max)
    }
}

/// A polygon with holes: rings of `[lng, lat]` positions as in GeoJSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub rings: Vec<Vec<[f64; 2]>>,
}

impl Polygon {
    /// Even-odd rule over all rings, so holes are excluded.
    pub fn contains(&self, point: LatLng) -> bool {
        let (x, y) = (point.lng, point.lat);
        let mut inside = false;
        for ring in &self.rings {
            if ring.len() < 3 {
                continue;
            }
            let mut previous = ring[ring.len() - 1];
            for &current in ring {
                let (xi, yi) = (current[0], current[1]);
                let (xj, yj) = (previous[0], previous[1]);
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
                previous = current;
            }
        }
        inside
    }

    pub fn bounding_box(&self) -> Option<BoundingBox> {
        let outer = self.rings.first()?;
        let mut bbox = BoundingBox { lat_min: f64::MAX, lat_max: f64::MIN, lng_min: f64::MAX, lng_max: f64::MIN };
        for position in outer {
            bbox.lng_min = bbox.lng_min.min(position[0]);
            bbox.lng_max = bbox.lng_max.max(position[0]);
            bbox.lat_min = bbox.lat_min.min(position[1]);
            bbox.lat_max = bbox.lat_max.max(position[1]);
        }
        Some(bbox)
    }
}

/// One or more polygons (GeoJSON `Polygon` or `MultiPolygon`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Area {
    pub polygons: Vec<Polygon>,
}

impl Area {
    pub fn contains(&self, point: LatLng) -> bool {
        self.polygons.iter().any(|polygon| polygon.contains(point))
    }

    /// The box around every polygon's outer ring.
    pub fn bounding_box(&self) -> Option<BoundingBox> {
        self.polygons.iter().filter_map(Polygon::bounding_box).reduce(|a, b| BoundingBox {
            lat_min: a.lat_min.min(b.lat_min),
            lat_max: a.lat_max.max(b.lat_max),
            lng_min: a.lng_min.min(b.lng_min),
            lng_max: a.lng_max.max(b.lng_max),
        })
    }

    /// Outer-ring area in square degrees of each polygon (for picking the largest part).
    pub fn polygon_weights(&self) -> Vec<f64> {
        self.polygons
            .iter()
            .map(|polygon| {
                let Some(ring) = polygon.rings.first() else { return 0.0 };
                let mut twice_area = 0.0;
                for window in ring.windows(2) {
                    twice_area += window[0][0] * window[1][1] - window[1][0] * window[0][1];
                }
                (twice_area / 2.0).abs()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latlng_checks_range() {
        assert!(LatLng::new(30.25, 120.15).is_ok());
        assert!(LatLng::new(90.0, 180.0).is_ok());
        assert!(LatLng::new(-90.0, -180.0).is_ok());
        assert_eq!(LatLng::new(91.0, 0.0), Err(GeoError::LatitudeOutOfRange(91.0)));
        assert_eq!(LatLng::new(0.0, -181.0), Err(GeoError::LongitudeOutOfRange(-181.0)));
        assert!(LatLng::new(f64::NAN, 0.0).is_err());
        assert!(LatLng::new(0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn radius_checks_range() {
        assert!(RadiusM::new(1000.0).is_ok());
        assert_eq!(RadiusM::new(0.0), Err(GeoError::RadiusNotPositive(0.0)));
        assert_eq!(RadiusM::new(-5.0), Err(GeoError::RadiusNotPositive(-5.0)));
        assert_eq!(RadiusM::new(600_000.0), Err(GeoError::RadiusTooLarge(600_000.0)));
    }

    fn check_distance(a: (f64, f64), b: (f64, f64), expect_m: f64, tolerance_m: f64) {
        let a = LatLng::new(a.0, a.1).unwrap();
        let b = LatLng::new(b.0, b.1).unwrap();
        let actual = a.distance_m(b);
        assert!((actual - expect_m).abs() <= tolerance_m, "{a:?} → {b:?}: {actual} m, expected {expect_m} m");
    }

    #[test]
    fn haversine_distances() {
        check_distance((30.0, 120.0), (30.0, 120.0), 0.0, 1e-6);
        // One degree of latitude ≈ 111.2 km.
        check_distance((30.0, 120.0), (31.0, 120.0), 111_195.0, 10.0);
        // Hangzhou (West Lake) → Ningbo (Tianyi Square): about 145 km.
        check_distance((30.2431, 120.1503), (29.8713, 121.5543), 142_000.0, 4_000.0);
        // Across the antimeridian.
        check_distance((0.0, 179.5), (0.0, -179.5), 111_195.0, 10.0);
    }

    #[test]
    fn bounding_box_contains_every_point_within_radius() {
        let center = LatLng::new(30.25, 120.15).unwrap();
        let bbox = center.bounding_box(5_000.0);
        for step in 0..360 {
            let bearing = (step as f64).to_radians();
            // Walk 4,999 m along a bearing on a sphere.
            let angular = 4_999.0 / EARTH_RADIUS_M;
            let lat1 = center.lat().to_radians();
            let lng1 = center.lng().to_radians();
            let lat2 = (lat1.sin() * angular.cos() + lat1.cos() * angular.sin() * bearing.cos()).asin();
            let lng2 = lng1 + (bearing.sin() * angular.sin() * lat1.cos()).atan2(angular.cos() - lat1.sin() * lat2.sin());
            let point = LatLng::new(lat2.to_degrees(), lng2.to_degrees()).unwrap();
            assert!(center.distance_m(point) < 5_000.0);
            assert!(bbox.contains(point), "bearing {step}: {point:?} outside {bbox:?}");
        }
    }

    #[test]
    fn polygon_even_odd_with_hole() {
        let square = |min: f64, max: f64| vec![[min, min], [max, min], [max, max], [min, max], [min, min]];
        let polygon = Polygon { rings: vec![square(0.0, 10.0), square(4.0, 6.0)] };
        let point = |lat, lng| LatLng::new(lat, lng).unwrap();
        assert!(polygon.contains(point(1.0, 1.0)));
        assert!(!polygon.contains(point(5.0, 5.0)), "inside the hole");
        assert!(!polygon.contains(point(11.0, 5.0)));
        let area = Area { polygons: vec![polygon, Polygon { rings: vec![square(20.0, 30.0)] }] };
        assert!(area.contains(point(25.0, 25.0)));
        assert_eq!(area.bounding_box().unwrap().lng_max, 30.0);
        assert_eq!(area.polygon_weights(), vec![100.0, 100.0]);
    }
}
