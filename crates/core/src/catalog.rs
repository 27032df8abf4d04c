//! The venue catalog: every venue in memory with an R-tree over their coordinates, answering the
//! venue search of the API and the web pages. Pure: the caller passes the local time.

use std::collections::HashMap;
use std::sync::Arc;

use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use crate::geo::{LatLng, RadiusM};
use crate::region::RegionCode;
use crate::venue::{Sport, Venue, VenueId, VenueStatus, VenueType};

/// Largest page of results.
pub const MAX_PAGE_SIZE: usize = 500;

/// A local (China Standard Time) weekday and minute, the only clock input of the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMoment {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: usize,
    pub minute_of_day: u16,
}

impl LocalMoment {
    pub fn from_naive(moment: chrono::NaiveDateTime) -> LocalMoment {
        use chrono::{Datelike, Timelike};
        LocalMoment { weekday: moment.weekday().num_days_from_monday() as usize, minute_of_day: (moment.hour() * 60 + moment.minute()) as u16 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub center: LatLng,
    pub radius: RadiusM,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VenueQuery {
    pub near: Option<Near>,
    pub region: Option<RegionCode>,
    pub venue_type: Option<VenueType>,
    pub sport: Option<Sport>,
    pub open_at: Option<LocalMoment>,
    pub free_at: Option<LocalMoment>,
    /// Case-insensitive substring of the name or the address.
    pub text: Option<String>,
    /// None: every status but closed.
    pub status: Option<VenueStatus>,
    pub limit: usize,
    pub offset: usize,
}

impl Default for VenueQuery {
    fn default() -> Self {
        VenueQuery { near: None, region: None, venue_type: None, sport: None, open_at: None, free_at: None, text: None, status: None, limit: 50, offset: 0 }
    }
}

/// How the nearby part of a query finds candidates. Both give the same answer; `Scan` exists so
/// the benchmark can compare the index with a full scan of the same data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStrategy {
    Index,
    Scan,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub position: usize,
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Matches before paging.
    pub total: usize,
    pub hits: Vec<Hit>,
}

type IndexedPoint = GeomWithData<[f64; 2], usize>;

/// An immutable snapshot; writers build a new one.
#[derive(Debug, Clone, Default)]
pub struct VenueCatalog {
    venues: Vec<Arc<Venue>>,
    by_id: HashMap<VenueId, usize>,
    tree: RTree<IndexedPoint>,
    version: i64,
}

impl VenueCatalog {
    /// `version` is the store's change counter the snapshot was read at.
    pub fn new(venues: Vec<Venue>, version: i64) -> VenueCatalog {
        VenueCatalog::from_shared(venues.into_iter().map(Arc::new).collect(), version)
    }

    fn from_shared(mut venues: Vec<Arc<Venue>>, version: i64) -> VenueCatalog {
        venues.sort_by(|a, b| a.id.cmp(&b.id));
        let by_id = venues.iter().enumerate().map(|(position, venue)| (venue.id.clone(), position)).collect();
        let points = venues.iter().enumerate().map(|(position, venue)| GeomWithData::new([venue.location.lng(), venue.location.lat()], position)).collect();
        VenueCatalog { venues, by_id, tree: RTree::bulk_load(points), version }
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn len(&self) -> usize {
        self.venues.len()
    }

    pub fn is_empty(&self) -> bool {
        self.venues.is_empty()
    }

    pub fn venues(&self) -> impl Iterator<Item = &Venue> {
        self.venues.iter().map(|venue| venue.as_ref())
    }

    pub fn at(&self, position: usize) -> &Venue {
        &self.venues[position]
    }

    pub fn get(&self, id: &VenueId) -> Option<&Venue> {
        self.by_id.get(id).map(|position| self.venues[*position].as_ref())
    }

    /// A new snapshot with `venue` inserted or replaced.
    pub fn with_upserted(&self, venue: Venue, version: i64) -> VenueCatalog {
        let mut venues: Vec<Arc<Venue>> = self.venues.iter().filter(|existing| existing.id != venue.id).cloned().collect();
        venues.push(Arc::new(venue));
        VenueCatalog::from_shared(venues, version)
    }

    pub fn with_removed(&self, id: &VenueId, version: i64) -> VenueCatalog {
        let venues = self.venues.iter().filter(|existing| existing.id != *id).cloned().collect();
        VenueCatalog::from_shared(venues, version)
    }

    pub fn search(&self, query: &VenueQuery, strategy: SearchStrategy) -> QueryResult {
        let text = query.text.as_ref().map(|text| text.trim().to_lowercase()).filter(|text| !text.is_empty());
        let matches = |venue: &Venue| -> bool {
            match query.status {
                Some(status) if venue.status != status => return false,
                None if venue.status == VenueStatus::Closed => return false,
                _ => {}
            }
            if query.region.is_some_and(|region| !region.contains(venue.region)) {
                return false;
            }
            if query.venue_type.is_some_and(|venue_type| venue.venue_type != venue_type) {
                return false;
            }
            if query.sport.is_some_and(|sport| !venue.sports.contains(&sport)) {
                return false;
            }
            if query.open_at.is_some_and(|at| !venue.opening_hours.contains(at.weekday, at.minute_of_day)) {
                return false;
            }
            if query.free_at.is_some_and(|at| !venue.free_hours.contains(at.weekday, at.minute_of_day)) {
                return false;
            }
            if let Some(text) = &text
                && !venue.name.to_lowercase().contains(text)
                && !venue.address.to_lowercase().contains(text)
            {
                return false;
            }
            true
        };
        let mut hits: Vec<Hit> = match query.near {
            None => self.venues.iter().enumerate().filter(|(_, venue)| matches(venue)).map(|(position, _)| Hit { position, distance_m: None }).collect(),
            Some(near) => {
                let candidates = match strategy {
                    SearchStrategy::Index => self.candidates_in_box(near),
                    SearchStrategy::Scan => (0..self.venues.len()).collect(),
                };
                candidates
                    .into_iter()
                    .filter_map(|position| {
                        let venue = &self.venues[position];
                        let distance_m = near.center.distance_m(venue.location);
                        (distance_m <= near.radius.get() && matches(venue)).then_some(Hit { position, distance_m: Some(distance_m) })
                    })
                    .collect()
            }
        };
        let total = hits.len();
        let limit = query.limit.min(MAX_PAGE_SIZE);
        let by_distance = |a: &Hit, b: &Hit| a.distance_m.partial_cmp(&b.distance_m).expect("distances are finite").then(a.position.cmp(&b.position));
        let by_name = |a: &Hit, b: &Hit| {
            let (va, vb) = (&self.venues[a.position], &self.venues[b.position]);
            va.name.cmp(&vb.name).then(a.position.cmp(&b.position))
        };
        let order: &dyn Fn(&Hit, &Hit) -> std::cmp::Ordering = if query.near.is_some() { &by_distance } else { &by_name };
        // Only the requested page needs to be in order: select it, then sort just that part.
        let needed = query.offset.saturating_add(limit).min(total);
        if needed < total && needed > 0 {
            hits.select_nth_unstable_by(needed - 1, order);
            hits.truncate(needed);
        }
        hits.sort_by(order);
        let hits = hits.into_iter().skip(query.offset).take(limit).collect();
        QueryResult { total, hits }
    }

    fn candidates_in_box(&self, near: Near) -> Vec<usize> {
        let bbox = near.center.bounding_box(near.radius.get());
        let mut envelopes = vec![(bbox.lng_min.max(-180.0), bbox.lng_max.min(180.0))];
        if bbox.lng_min < -180.0 {
            envelopes.push((bbox.lng_min + 360.0, 180.0));
        }
        if bbox.lng_max > 180.0 {
            envelopes.push((-180.0, bbox.lng_max - 360.0));
        }
        let mut out = Vec::new();
        for (lng_min, lng_max) in envelopes {
            let envelope = AABB::from_corners([lng_min, bbox.lat_min], [lng_max, bbox.lat_max]);
            out.extend(self.tree.locate_in_envelope(&envelope).map(|point| point.data));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::WeeklyHours;
    use crate::venue::{OwnerKind, Setting};
    use proptest::prelude::*;

    fn venue(id: &str, lat: f64, lng: f64, region: &str) -> Venue {
        Venue {
            id: VenueId::parse(id).unwrap(),
            name: format!("场馆 {id}"),
            region: RegionCode::parse(region).unwrap(),
            address: String::new(),
            location: LatLng::new(lat, lng).unwrap(),
            venue_type: VenueType::BallCourts,
            sports: vec![Sport::Basketball],
            sports_area_m2: 800.0,
            setting: Setting::Outdoor,
            owner_kind: OwnerKind::Public,
            opening_hours: WeeklyHours::parse("Mo-Fr 06:00-22:00").unwrap(),
            free_hours: WeeklyHours::parse("Mo-Fr 06:00-08:00").unwrap(),
            low_fee_hours: WeeklyHours::never(),
            accessibility: Vec::new(),
            status: VenueStatus::Open,
            opened_year: None,
            phone: String::new(),
        }
    }

    fn ids(catalog: &VenueCatalog, result: &QueryResult) -> Vec<String> {
        result.hits.iter().map(|hit| catalog.at(hit.position).id.to_string()).collect()
    }

    fn near(lat: f64, lng: f64, radius_m: f64) -> Option<Near> {
        Some(Near { center: LatLng::new(lat, lng).unwrap(), radius: RadiusM::new(radius_m).unwrap() })
    }

    #[test]
    fn nearby_sorted_by_distance_with_filters() {
        let mut far = venue("far", 30.30, 120.15, "330106");
        far.sports = vec![Sport::Swimming];
        let mut closed = venue("closed", 30.2432, 120.1504, "330106");
        closed.status = VenueStatus::Closed;
        let catalog = VenueCatalog::new(
            vec![venue("b", 30.2500, 120.1500, "330106"), venue("a", 30.2440, 120.1510, "330102"), far, closed, venue("ningbo", 29.87, 121.55, "330203")],
            1,
        );
        let base = VenueQuery { near: near(30.2431, 120.1503, 10_000.0), ..VenueQuery::default() };
        assert_eq!(ids(&catalog, &catalog.search(&base, SearchStrategy::Index)), ["a", "b", "far"]);
        let basketball = VenueQuery { sport: Some(Sport::Basketball), ..base.clone() };
        assert_eq!(ids(&catalog, &catalog.search(&basketball, SearchStrategy::Index)), ["a", "b"]);
        let in_county = VenueQuery { region: RegionCode::parse("330106").ok(), ..base.clone() };
        assert_eq!(ids(&catalog, &catalog.search(&in_county, SearchStrategy::Index)), ["b", "far"]);
        let closed_only = VenueQuery { status: Some(VenueStatus::Closed), ..base.clone() };
        assert_eq!(ids(&catalog, &catalog.search(&closed_only, SearchStrategy::Index)), ["closed"]);
        let saturday_morning = LocalMoment { weekday: 5, minute_of_day: 7 * 60 };
        let open_saturday = VenueQuery { open_at: Some(saturday_morning), ..base.clone() };
        assert!(catalog.search(&open_saturday, SearchStrategy::Index).hits.is_empty());
        let monday_seven = LocalMoment { weekday: 0, minute_of_day: 7 * 60 };
        let free_monday = VenueQuery { free_at: Some(monday_seven), text: Some("场馆 A".into()), ..base.clone() };
        assert_eq!(ids(&catalog, &catalog.search(&free_monday, SearchStrategy::Index)), ["a"]);
        let paged = VenueQuery { limit: 1, offset: 1, ..base };
        let result = catalog.search(&paged, SearchStrategy::Index);
        assert_eq!((result.total, ids(&catalog, &result)), (3, vec!["b".to_string()]));
    }

    #[test]
    fn upsert_and_remove_make_new_snapshots() {
        let catalog = VenueCatalog::new(vec![venue("a", 30.0, 120.0, "330106")], 1);
        let moved = catalog.with_upserted(venue("a", 31.0, 121.0, "330106"), 2);
        assert_eq!(catalog.get(&VenueId::parse("a").unwrap()).unwrap().location.lat(), 30.0);
        assert_eq!(moved.get(&VenueId::parse("a").unwrap()).unwrap().location.lat(), 31.0);
        assert_eq!(moved.len(), 1);
        assert_eq!(moved.version(), 2);
        let query = VenueQuery { near: near(31.0, 121.0, 100.0), ..VenueQuery::default() };
        assert_eq!(moved.search(&query, SearchStrategy::Index).total, 1);
        assert!(moved.with_removed(&VenueId::parse("a").unwrap(), 3).is_empty());
    }

    #[test]
    fn antimeridian_boxes_wrap() {
        let catalog = VenueCatalog::new(vec![venue("east", 0.0, 179.999, "330106"), venue("west", 0.0, -179.999, "330106")], 1);
        let query = VenueQuery { near: near(0.0, 179.9999, 1_000.0), ..VenueQuery::default() };
        assert_eq!(catalog.search(&query, SearchStrategy::Index).total, 2);
        assert_eq!(catalog.search(&query, SearchStrategy::Scan).total, 2);
    }

    proptest! {
        /// The R-tree never changes an answer: index and full scan agree on any data and query.
        #[test]
        fn index_and_scan_agree(
            points in proptest::collection::vec((29.0f64..31.0, 119.0f64..122.0), 0..200),
            center in (29.0f64..31.0, 119.0f64..122.0),
            radius_m in 1.0f64..100_000.0,
        ) {
            let venues = points.iter().enumerate().map(|(i, (lat, lng))| venue(&format!("v{i}"), *lat, *lng, "330106")).collect();
            let catalog = VenueCatalog::new(venues, 1);
            let query = VenueQuery { near: near(center.0, center.1, radius_m), limit: MAX_PAGE_SIZE, ..VenueQuery::default() };
            let by_index = catalog.search(&query, SearchStrategy::Index);
            let by_scan = catalog.search(&query, SearchStrategy::Scan);
            prop_assert_eq!(by_index, by_scan);
        }

        /// A page is exactly that slice of the whole ordered answer (the page is selected, not sorted whole).
        #[test]
        fn pages_are_slices_of_the_full_order(
            points in proptest::collection::vec((29.0f64..31.0, 119.0f64..122.0), 0..120),
            offset in 0usize..130,
            limit in 1usize..40,
            near_center in proptest::option::of((29.0f64..31.0, 119.0f64..122.0)),
        ) {
            let venues = points.iter().enumerate().map(|(i, (lat, lng))| venue(&format!("v{i}"), *lat, *lng, "330106")).collect();
            let catalog = VenueCatalog::new(venues, 1);
            let near = near_center.and_then(|(lat, lng)| near(lat, lng, 300_000.0));
            let everything = catalog.search(&VenueQuery { near, limit: MAX_PAGE_SIZE, ..VenueQuery::default() }, SearchStrategy::Index);
            let page = catalog.search(&VenueQuery { near, limit, offset, ..VenueQuery::default() }, SearchStrategy::Index);
            let expect: Vec<Hit> = everything.hits.iter().skip(offset).take(limit).copied().collect();
            prop_assert_eq!(page.total, everything.total);
            prop_assert_eq!(page.hits, expect);
        }
    }
}
