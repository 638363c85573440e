//! The route table: node URI patterns to whatever the application keys its agents by.

use alloc::vec::Vec;
use core::cmp::Ordering;

use super::route::{Params, RouteError, RouteErrorKind, RoutePattern};

/// The position of a route in its [`Router`], in the order routes were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(usize);

impl RouteId {
    /// The index: 0 for the first route added.
    pub const fn index(self) -> usize {
        self.0
    }
}

/// A route table from node URI patterns to handlers `H` (an agent factory, an id, …).
///
/// When several patterns match a node URI the most specific wins: comparing position by
/// position, a literal segment beats a parameter, which beats the wildcard (`/unit/admin`
/// beats `/unit/:id`, which beats `/unit/*`). Two patterns matching exactly the same node URIs
/// cannot both be added, so the winner is always unique.
///
/// ```
/// use warp_proto::app::Router;
///
/// let mut router = Router::new();
/// router.add("/unit/:id", "unit").unwrap();
/// router.add("/unit/admin", "admin").unwrap();
/// router.add("/files/*", "files").unwrap();
///
/// let m = router.find("/unit/7").unwrap();
/// assert_eq!((*m.handler, m.params.get("id")), ("unit", Some("7")));
/// assert_eq!(*router.find("/unit/admin").unwrap().handler, "admin");
/// assert_eq!(router.find("/files/a/b").unwrap().params.rest(), Some("a/b"));
/// assert!(router.find("/nowhere").is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Router<H> {
    routes: Vec<(RoutePattern, H)>,
}

/// A successful [`Router::find`].
#[derive(Clone, Debug)]
pub struct RouteMatch<'r, H> {
    /// Which route.
    pub id: RouteId,
    /// Its pattern.
    pub pattern: &'r RoutePattern,
    /// Its handler.
    pub handler: &'r H,
    /// The parameters the node URI binds.
    pub params: Params,
}

impl<H> Router<H> {
    /// An empty table.
    pub const fn new() -> Self {
        Router { routes: Vec::new() }
    }

    /// Parses `pattern` and adds it with `handler`.
    ///
    /// Fails with the pattern's syntax error, or [`RouteErrorKind::Duplicate`] (offset 0) when
    /// a pattern matching exactly the same node URIs is already in the table.
    pub fn add(&mut self, pattern: &str, handler: H) -> Result<RouteId, RouteError> {
        self.add_pattern(RoutePattern::parse(pattern)?, handler)
    }

    /// Adds a parsed pattern with `handler` (see [`Router::add`]).
    pub fn add_pattern(
        &mut self,
        pattern: RoutePattern,
        handler: H,
    ) -> Result<RouteId, RouteError> {
        if self.routes.iter().any(|(p, _)| p.same_shape(&pattern)) {
            return Err(RouteError {
                kind: RouteErrorKind::Duplicate,
                offset: 0,
            });
        }
        self.routes.push((pattern, handler));
        Ok(RouteId(self.routes.len().saturating_sub(1)))
    }

    /// The most specific route matching `node`, with the parameters it binds.
    pub fn find(&self, node: &str) -> Option<RouteMatch<'_, H>> {
        let mut best: Option<RouteMatch<'_, H>> = None;
        for (i, (pattern, handler)) in self.routes.iter().enumerate() {
            let Some(params) = pattern.matches(node) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some(b) => pattern.specificity().cmp(b.pattern.specificity()) == Ordering::Greater,
            };
            if better {
                best = Some(RouteMatch {
                    id: RouteId(i),
                    pattern,
                    handler,
                    params,
                });
            }
        }
        best
    }

    /// The route `id`.
    pub fn get(&self, id: RouteId) -> Option<(&RoutePattern, &H)> {
        self.routes.get(id.0).map(|(p, h)| (p, h))
    }

    /// Every route, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = (RouteId, &RoutePattern, &H)> + '_ {
        self.routes
            .iter()
            .enumerate()
            .map(|(i, (p, h))| (RouteId(i), p, h))
    }

    /// How many routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

impl<H> Default for Router<H> {
    fn default() -> Self {
        Router::new()
    }
}
