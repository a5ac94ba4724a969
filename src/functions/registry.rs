//! The functions one engine can call: the built-in library plus the ones its owner adds.
//!
//! ksqlDB loads user-defined functions from its extension directory, and its conformance runner
//! adds a few test-only ones (`BAD_UDF`, `TEST_UDTF`, ...) from its test classpath. Rivulet's
//! equivalent is a [`FunctionRegistry`] given to the engine in its config
//! (`EngineConfig::functions`): the default one holds only the built-in library, and the QTT
//! runner (`testing`) builds one with ksqlDB's test functions. The catalog carries it, as
//! ksqlDB's metastore carries its function registry, so that every planner resolves names
//! through it.
//!
//! An added function is a factory rather than one shared value: like a Java UDF class, which
//! ksqlDB instantiates once per call site, a function may keep state (a counter), and two
//! calls in one query, or two queries, must not share it.
//!
//! A table function is a scalar function that returns, per row, the ARRAY of the values it
//! produces for that row; the select planner explodes it (see `plan::select`), exactly as it
//! plans EXPLODE.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

use super::FunctionInfo;

/// Builds a fresh instance of a function for one call site.
pub type UdfFactory = Arc<dyn Fn() -> Arc<ScalarUDF> + Send + Sync>;

/// One added function.
#[derive(Clone)]
struct Added {
    description: String,
    factory: UdfFactory,
}

/// The built-in functions plus added ones. Cheap to clone (the additions are shared).
#[derive(Clone, Default)]
pub struct FunctionRegistry {
    scalars: Arc<BTreeMap<String, Added>>,
    tables: Arc<BTreeMap<String, Added>>,
}

impl FunctionRegistry {
    /// The built-in library only.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Adds the scalar function `name` (any case). A built-in function of the same name wins,
    /// so that an addition can never change what a built-in call means.
    pub fn add_scalar(&mut self, name: &str, description: &str, factory: UdfFactory) {
        let added = Added { description: description.to_string(), factory };
        Arc::make_mut(&mut self.scalars).insert(name.to_ascii_uppercase(), added);
    }

    /// Adds the table function `name` (any case): `factory` builds a scalar function returning,
    /// per row, the ARRAY of the rows the table function produces for it.
    pub fn add_table(&mut self, name: &str, description: &str, factory: UdfFactory) {
        let added = Added { description: description.to_string(), factory };
        Arc::make_mut(&mut self.tables).insert(name.to_ascii_uppercase(), added);
    }

    /// A fresh instance of the scalar function `name` (any case), built-in or added.
    pub fn scalar(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        super::scalar_udf(name).or_else(|| self.scalars.get(&name.to_ascii_uppercase()).map(|a| (a.factory)()))
    }

    /// Whether `name` (any case) is a table function: a built-in one or an added one.
    pub fn is_table_function(&self, name: &str) -> bool {
        let upper = name.to_ascii_uppercase();
        super::TABLE_FUNCTIONS.iter().any(|(n, _)| *n == upper) || self.tables.contains_key(&upper)
    }

    /// A fresh instance of the added table function `name` (any case). The built-in ones
    /// (EXPLODE, CUBE_EXPLODE) are planned by the select planner itself.
    pub fn added_table(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.tables.get(&name.to_ascii_uppercase()).map(|a| (a.factory)())
    }

    /// Every function, built-in and added, sorted by name (SHOW FUNCTIONS).
    pub fn list(&self) -> Vec<FunctionInfo> {
        let mut all = super::list_functions();
        let added = |kind: &'static str, map: &BTreeMap<String, Added>| {
            map.iter()
                .map(move |(name, a)| FunctionInfo { name: name.clone(), kind, description: a.description.clone() })
                .collect::<Vec<_>>()
        };
        for info in added("SCALAR", &self.scalars).into_iter().chain(added("TABLE", &self.tables)) {
            if !all.iter().any(|f| f.name == info.name) {
                all.push(info);
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

impl fmt::Debug for FunctionRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionRegistry")
            .field("added_scalars", &self.scalars.keys().collect::<Vec<_>>())
            .field("added_tables", &self.tables.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn factory(built: Arc<AtomicUsize>) -> UdfFactory {
        Arc::new(move || {
            built.fetch_add(1, Ordering::Relaxed);
            // Any function will do: the registry does not look inside.
            super::super::scalar_udf("ABS").expect("ABS is built in")
        })
    }

    #[test]
    fn the_builtin_registry_adds_nothing() {
        let registry = FunctionRegistry::builtin();
        assert!(registry.scalar("substring").is_some());
        assert!(registry.scalar("my_udf").is_none());
        assert!(registry.is_table_function("explode"));
        assert!(!registry.is_table_function("my_udtf"));
        assert_eq!(registry.list(), super::super::list_functions());
    }

    #[test]
    fn added_functions_are_found_in_any_case_and_built_per_call() {
        let built = Arc::new(AtomicUsize::new(0));
        let mut registry = FunctionRegistry::builtin();
        registry.add_scalar("my_udf", "d", factory(built.clone()));
        registry.add_table("My_Udtf", "d", factory(built.clone()));
        assert!(registry.scalar("MY_UDF").is_some());
        assert!(registry.scalar("my_udf").is_some());
        assert!(registry.is_table_function("my_udtf"));
        assert!(registry.added_table("MY_UDTF").is_some());
        assert!(registry.added_table("explode").is_none());
        assert_eq!(built.load(Ordering::Relaxed), 3);
        let listed = registry.list();
        assert!(listed.iter().any(|f| f.name == "MY_UDF" && f.kind == "SCALAR"));
        assert!(listed.iter().any(|f| f.name == "MY_UDTF" && f.kind == "TABLE"));
    }

    #[test]
    fn a_builtin_name_keeps_its_builtin_meaning() {
        let built = Arc::new(AtomicUsize::new(0));
        let mut registry = FunctionRegistry::builtin();
        registry.add_scalar("SUBSTRING", "d", factory(built.clone()));
        assert!(registry.scalar("substring").is_some());
        assert_eq!(built.load(Ordering::Relaxed), 0);
        assert_eq!(registry.list().iter().filter(|f| f.name == "SUBSTRING").count(), 1);
    }

    #[test]
    fn clones_share_additions_but_not_later_ones() {
        let mut registry = FunctionRegistry::builtin();
        let before = registry.clone();
        registry.add_scalar("my_udf", "d", factory(Arc::new(AtomicUsize::new(0))));
        assert!(before.scalar("my_udf").is_none());
        assert!(registry.clone().scalar("my_udf").is_some());
    }
}
