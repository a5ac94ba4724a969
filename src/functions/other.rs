//! Functions that fit no category: AS_VALUE (copies a key column into the value), GEO_DISTANCE
//! (great-circle distance), plus the small random generator RANDOM and UUID share.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::{as_float64_array, as_string_array};

use super::Registry;
use super::util::{P, arg, exec_error, overloaded, returns, returns_arg, sig};

pub(crate) fn register(r: &mut Registry) {
    r.add(
        "AS_VALUE",
        "Copies a key column into the value of the result.",
        overloaded("AS_VALUE", vec![sig(&[P::Any])], returns_arg(0), |args, _, _| Ok(Arc::clone(arg(args, 0)?))),
    );
    r.add(
        "GEO_DISTANCE",
        "Returns the great-circle distance between two lat/long points, in KM (default) or MI.",
        overloaded(
            "GEO_DISTANCE",
            vec![
                sig(&[P::Double, P::Double, P::Double, P::Double]),
                sig(&[P::Double, P::Double, P::Double, P::Double, P::Str]),
            ],
            returns(DataType::Float64),
            |args, _, rows| {
                let lat1 = as_float64_array(arg(args, 0)?)?;
                let lon1 = as_float64_array(arg(args, 1)?)?;
                let lat2 = as_float64_array(arg(args, 2)?)?;
                let lon2 = as_float64_array(arg(args, 3)?)?;
                let units = if args.len() > 4 { Some(as_string_array(arg(args, 4)?)?) } else { None };
                let mut out = Vec::with_capacity(rows);
                for i in 0..rows {
                    let radius = match units {
                        None => Some(6371.0),
                        Some(u) if u.is_null(i) => None,
                        Some(u) => match u.value(i).to_ascii_lowercase().as_str() {
                            "km" | "kilometers" | "kilometres" => Some(6371.0),
                            "mi" | "miles" => Some(3959.0),
                            other => {
                                return Err(exec_error(format!(
                                    "GeoDistance function units parameter must be one of 'MI', \
                                     'MILES', 'KM' or 'KILOMETERS', got '{other}'"
                                )));
                            }
                        },
                    };
                    let v = (|| {
                        let (a1, o1, a2, o2) = (value(lat1, i)?, value(lon1, i)?, value(lat2, i)?, value(lon2, i)?);
                        geo_distance(a1, o1, a2, o2, radius?)
                    })();
                    out.push(v);
                }
                Ok(Arc::new(Float64Array::from(out)) as ArrayRef)
            },
        ),
    );
}

fn value(a: &Float64Array, i: usize) -> Option<f64> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

/// Haversine distance; `None` when a coordinate is out of range (ksqlDB rejects those).
fn geo_distance(lat1: f64, lon1: f64, lat2: f64, lon2: f64, radius: f64) -> Option<f64> {
    let valid_lat = |v: f64| (-90.0..=90.0).contains(&v);
    let valid_lon = |v: f64| (-180.0..=180.0).contains(&v);
    if !(valid_lat(lat1) && valid_lat(lat2) && valid_lon(lon1) && valid_lon(lon2)) {
        return None;
    }
    let (la1, la2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = (lat2 - lat1).to_radians();
    let dlon = (lon2 - lon1).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    Some(2.0 * radius * a.sqrt().asin())
}

/// A small xorshift generator seeded from the process's random hasher keys; good enough for
/// RANDOM() and UUID(), not for anything secret.
pub(crate) struct Rng(u64);

impl Rng {
    /// A freshly seeded generator.
    pub(crate) fn new() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x9E37_79B9_7F4A_7C15);
        Rng(h.finish() | 1)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A double in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use datafusion::common::ScalarValue;

    #[test]
    fn as_value_is_identity() {
        assert_eq!(eval_lit("AS_VALUE", vec![s("k")]), s("k"));
    }

    #[test]
    fn geo_distance_km_and_miles() {
        let km = eval_lit("GEO_DISTANCE", vec![d(37.4439), d(-122.1663), d(51.5257), d(-0.1122)]);
        let ScalarValue::Float64(Some(km)) = km else { panic!() };
        assert!((km - 8634.6528).abs() < 0.01, "{km}");
        let mi = eval_lit("GEO_DISTANCE", vec![d(37.4439), d(-122.1663), d(51.5257), d(-0.1122), s("MI")]);
        let ScalarValue::Float64(Some(mi)) = mi else { panic!() };
        assert!((mi - 5365.66).abs() < 0.1, "{mi}");
    }
}
