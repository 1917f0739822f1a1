//! The code's shape, checked: inside each crate, modules import each other one way only (no
//! cycles), so a newcomer finds a rule by walking down from where it is used.
//!
//! The sources are parsed as Rust (`syn`), not searched as text: a reference written as
//! `crate::x`, `super::x` from a top-level module, `self::…`, in a grouped or nested `use`
//! (`use crate::{a, b::C}`), in a type, an expression, a pattern or a macro's tokens all
//! count alike.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::buffer::{Cursor, TokenBuffer};
use syn::visit::{self, Visit};

/// The node that stands for the crate root (`lib.rs`, `main.rs`, a `src/bin/*.rs`).
const ROOT: &str = "crate";

/// Node → the nodes it depends on, each with where the first reference to it was seen.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// What a crate's top-level modules and its root depend on.
///
/// Nodes are the top-level modules (a submodule, inline or in its own file, counts as part of
/// its top-level module) and the crate root itself ([`ROOT`]). An edge `a → b` means code of
/// `a` names something of `b`:
///
/// - A path that starts at the root (`crate::…`, `super::…` reaching above its top-level
///   module, or `self::…`/`super::…` from the root) goes to the top-level module it names;
///   one that names an item defined in the root itself (`crate::AppState`) goes to the root.
///   A name the root only re-exports (`crate::Accounts` for `pub use accounts::Accounts`) goes
///   to the module it comes from, since that is where the item is.
/// - The root's own `mod x;` and `use`/`pub use` lines are not edges: declaring and
///   re-exporting modules is the crate's index, not a dependency, or every crate would loop
///   through its root. What the root's own code names (a function body, a struct field, an
///   impl, a constant) is an edge, whether written `x::Item` or through a name the root
///   imported with `use`.
/// - A `use` in any other module is an edge by itself.
/// - Paths that cannot leave the module they are in (a child module, a local name, another
///   crate) are not edges; neither is an edge from a node to itself.
/// - Test-only code is left out: an item, impl item or trait item under a `#[cfg(…)]` that
///   needs `test` (`cfg(test)`, `cfg(all(test, unix))`).
///
/// A method call (`state.refresher.clock_offset()`) names no path and is not seen: an
/// inherent impl whose items other modules may call must stay in the module that defines its
/// type for the graph to be whole ([`impls_away_from_their_type`] checks it).
fn module_graph(root_file: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Graph {
    analyse(root_file, read).0
}

/// Inherent impls, written away from the module that defines their type, with an item other
/// modules may call: `module: impl Type`.
fn impls_away_from_their_type(
    root_file: &Path,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let info = analyse(root_file, read).1;
    info.open_impls
        .iter()
        .filter(|(node, ty)| {
            info.types
                .get(ty)
                .is_some_and(|defined| !defined.contains(node))
        })
        .map(|(node, ty)| format!("{node}: impl {ty}"))
        .collect()
}

fn analyse(root_file: &Path, read: &dyn Fn(&Path) -> Option<String>) -> (Graph, CrateInfo) {
    let mut crate_info = CrateInfo::default();
    let mut refs = Vec::new();
    let mut files = vec![(root_file.to_path_buf(), Vec::new(), parent(root_file))];
    while let Some((file, module, child_dir)) = files.pop() {
        let text = read(&file).unwrap_or_else(|| panic!("cannot read {}", file.display()));
        let parsed = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", file.display()));
        let mut collector = Collector {
            read,
            file: &file,
            file_dir: parent(&file),
            dir: child_dir,
            module,
            crate_info: &mut crate_info,
            refs: &mut refs,
            files: &mut files,
        };
        collector.visit_file(&parsed);
    }
    let mut graph: Graph = BTreeMap::new();
    graph.entry(ROOT.to_owned()).or_default();
    for module in &crate_info.modules {
        graph.entry(module.clone()).or_default();
    }
    for reference in refs {
        for to in crate_info.resolve(&reference.path, reference.from_root_code, 0) {
            if to != reference.from {
                graph
                    .get_mut(&reference.from)
                    .expect("every node is known")
                    .entry(to)
                    .or_insert_with(|| reference.evidence.clone());
            }
        }
    }
    (graph, crate_info)
}

fn parent(file: &Path) -> PathBuf {
    file.parent().unwrap_or(Path::new("")).to_path_buf()
}

/// What the crate root holds, for resolving paths that go through it.
#[derive(Debug, Default)]
struct CrateInfo {
    /// Its top-level modules.
    modules: BTreeSet<String>,
    /// The names its own items take (functions, types, constants, macros).
    items: BTreeSet<String>,
    /// The names its `use` lines bring in → the path each stands for, from the root.
    uses: BTreeMap<String, Vec<String>>,
    /// The paths of its glob `use` lines (`pub use x::*`).
    globs: Vec<Vec<String>>,
    /// Type name → the top-level modules (or the root) that define a type of that name.
    types: BTreeMap<String, BTreeSet<String>>,
    /// `(node, type)` of each inherent impl with a method or constant callable from outside
    /// the module it is written in.
    open_impls: Vec<(String, String)>,
}

impl CrateInfo {
    /// The nodes `path` (from the root) lands in: none for another crate's item.
    /// `from_root_code` is a path written in the root's own code without `crate::`: a bare
    /// module name there is not a reference (`x` alone is a field or a variable).
    fn resolve(&self, path: &[String], from_root_code: bool, depth: usize) -> BTreeSet<String> {
        let Some(first) = path.first() else {
            return BTreeSet::from([ROOT.to_owned()]);
        };
        if depth > 8 {
            return BTreeSet::new();
        }
        if self.modules.contains(first) && !(from_root_code && path.len() == 1) {
            return BTreeSet::from([first.clone()]);
        }
        if self.items.contains(first) {
            return BTreeSet::from([ROOT.to_owned()]);
        }
        if let Some(bound) = self.uses.get(first) {
            let through: Vec<String> = bound.iter().chain(&path[1..]).cloned().collect();
            return self.resolve(&through, false, depth + 1);
        }
        if from_root_code || depth > 0 {
            // A local variable, a prelude name or another crate.
            return BTreeSet::new();
        }
        self.globs
            .iter()
            .flat_map(|glob| {
                let through: Vec<String> = glob.iter().chain(path).cloned().collect();
                self.resolve(&through, false, depth + 1)
            })
            .collect()
    }
}

/// A path seen in the sources, made absolute (from the crate root).
#[derive(Debug)]
struct Reference {
    from: String,
    path: Vec<String>,
    from_root_code: bool,
    evidence: String,
}

/// Walks one file: records its modules' references and queues its submodules' files.
struct Collector<'a> {
    read: &'a dyn Fn(&Path) -> Option<String>,
    file: &'a Path,
    /// Where `#[path]` is relative to.
    file_dir: PathBuf,
    /// Where the files of the current module's submodules are.
    dir: PathBuf,
    /// The current module, from the root.
    module: Vec<String>,
    crate_info: &'a mut CrateInfo,
    refs: &'a mut Vec<Reference>,
    files: &'a mut Vec<(PathBuf, Vec<String>, PathBuf)>,
}

impl Collector<'_> {
    fn in_root(&self) -> bool {
        self.module.is_empty()
    }

    fn node(&self) -> String {
        self.module
            .first()
            .cloned()
            .unwrap_or_else(|| ROOT.to_owned())
    }

    /// `segments` from the root, or `None` for a path that cannot leave the current
    /// top-level module (outside the root) or names another crate (`::x`).
    fn absolute(&self, segments: &[String]) -> Option<(Vec<String>, bool)> {
        let mut base = self.module.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => return Some((rest[1..].to_vec(), false)),
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ if self.in_root() => return Some((segments.to_vec(), true)),
            _ => return None,
        }
        if rest.first().is_some_and(|s| s == "self") {
            rest = &rest[1..];
        }
        Some((
            base.into_iter().chain(rest.iter().cloned()).collect(),
            false,
        ))
    }

    fn reference(&mut self, segments: &[String]) {
        if let Some((path, from_root_code)) = self.absolute(segments) {
            let file = self.file.strip_prefix(workspace()).unwrap_or(self.file);
            let evidence = format!("{}: {}", file.display(), segments.join("::"));
            self.refs.push(Reference {
                from: self.node(),
                path,
                from_root_code,
                evidence,
            });
        }
    }

    /// The paths of a `use` tree, each with the name it binds (`None` for a glob).
    fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut UsePaths) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                Self::use_paths(&p.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) if n.ident == "self" => {
                out.push((prefix.clone(), prefix.last().cloned()));
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                out.push((path, Some(n.ident.to_string())));
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                out.push((path, Some(r.rename.to_string())));
            }
            syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    Self::use_paths(tree, prefix, out);
                }
            }
        }
    }

    /// Queues the file of `mod name;`.
    fn module_file(&mut self, item: &syn::ItemMod) {
        let name = item.ident.to_string();
        let explicit = item.attrs.iter().find_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        let mut module = self.module.clone();
        module.push(name.clone());
        let (file, child_dir) = if let Some(explicit) = explicit {
            let file = self.file_dir.join(explicit);
            let child_dir = parent(&file);
            (file, child_dir)
        } else {
            let flat = self.dir.join(format!("{name}.rs"));
            if (self.read)(&flat).is_some() {
                (flat, self.dir.join(&name))
            } else {
                (self.dir.join(&name).join("mod.rs"), self.dir.join(&name))
            }
        };
        self.files.push((file, module, child_dir));
    }
}

type UsePaths = Vec<(Vec<String>, Option<String>)>;

/// Whether `attrs` hold a `#[cfg(…)]` that is true only in tests.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    fn needs_test(meta: &syn::Meta) -> bool {
        match meta {
            syn::Meta::Path(p) => p.is_ident("test"),
            syn::Meta::List(list) => {
                let nested = list
                    .parse_args_with(
                        syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                    )
                    .unwrap_or_default();
                if list.path.is_ident("all") {
                    nested.iter().any(needs_test)
                } else if list.path.is_ident("any") {
                    !nested.is_empty() && nested.iter().all(needs_test)
                } else {
                    false
                }
            }
            syn::Meta::NameValue(_) => false,
        }
    }
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| needs_test(&m))
    })
}

/// The paths in a macro's tokens (`a::b::c`, `crate::x`), which `syn` leaves unparsed.
fn token_paths(mut cursor: Cursor<'_>, out: &mut Vec<Vec<String>>) {
    // After `::` or `.`, an identifier continues something else (`::std::x`, `a.field`).
    let mut continues = false;
    while !cursor.eof() {
        if let Some((inside, _, _, after)) = cursor.any_group() {
            token_paths(inside, out);
            cursor = after;
            continues = false;
        } else if let Some((ident, mut next)) = cursor.ident() {
            let mut path = vec![ident.to_string()];
            while let Some((first, after_first)) = next.punct()
                && first.as_char() == ':'
                && let Some((second, after_second)) = after_first.punct()
                && second.as_char() == ':'
                && let Some((segment, after_segment)) = after_second.ident()
            {
                path.push(segment.to_string());
                next = after_segment;
            }
            if !continues {
                out.push(path);
            }
            cursor = next;
            continues = false;
        } else if let Some((punct, next)) = cursor.punct() {
            cursor = next;
            continues = punct.as_char() == '.';
            if punct.as_char() == ':'
                && let Some((second, after)) = next.punct()
                && second.as_char() == ':'
            {
                cursor = after;
                continues = true;
            }
        } else if let Some((_, next)) = cursor.token_tree() {
            cursor = next;
            continues = false;
        } else {
            break;
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::ExternCrate(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::ForeignMod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::TraitAlias(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Union(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => return visit::visit_item(self, item),
        };
        if test_only(attrs) {
            return;
        }
        let type_name = match item {
            syn::Item::Enum(i) => Some(&i.ident),
            syn::Item::Struct(i) => Some(&i.ident),
            syn::Item::Type(i) => Some(&i.ident),
            syn::Item::Union(i) => Some(&i.ident),
            _ => None,
        };
        if let Some(name) = type_name {
            let node = self.node();
            self.crate_info
                .types
                .entry(name.to_string())
                .or_default()
                .insert(node);
        }
        if let syn::Item::Impl(i) = item
            && i.trait_.is_none()
            && let syn::Type::Path(ty) = &*i.self_ty
            && let Some(last) = ty.path.segments.last()
        {
            let open = i.items.iter().any(|item| match item {
                syn::ImplItem::Fn(f) => {
                    !matches!(f.vis, syn::Visibility::Inherited) && !test_only(&f.attrs)
                }
                syn::ImplItem::Const(c) => {
                    !matches!(c.vis, syn::Visibility::Inherited) && !test_only(&c.attrs)
                }
                _ => false,
            });
            if open {
                let node = self.node();
                self.crate_info
                    .open_impls
                    .push((node, last.ident.to_string()));
            }
        }
        if self.in_root() {
            let name = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::TraitAlias(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                _ => None,
            };
            if let Some(name) = name {
                self.crate_info.items.insert(name.to_string());
            }
        }
        visit::visit_item(self, item);
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !test_only(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
        let attrs = match item {
            syn::TraitItem::Const(i) => &i.attrs,
            syn::TraitItem::Fn(i) => &i.attrs,
            syn::TraitItem::Type(i) => &i.attrs,
            syn::TraitItem::Macro(i) => &i.attrs,
            _ => return visit::visit_trait_item(self, item),
        };
        if !test_only(attrs) {
            visit::visit_trait_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if self.in_root() {
            self.crate_info.modules.insert(item.ident.to_string());
        }
        let Some((_, items)) = &item.content else {
            self.module_file(item);
            return;
        };
        let name = item.ident.to_string();
        let outer_dir = self.dir.clone();
        self.dir = self.dir.join(&name);
        self.module.push(name);
        for item in items {
            self.visit_item(item);
        }
        self.module.pop();
        self.dir = outer_dir;
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        Self::use_paths(&item.tree, &mut Vec::new(), &mut paths);
        if item.leading_colon.is_some() {
            return;
        }
        for (segments, binds) in paths {
            if self.in_root() {
                // The root's `use` lines only name things; its code using them is the edge.
                let Some((path, _)) = self.absolute(&segments) else {
                    continue;
                };
                match binds {
                    Some(name) => {
                        self.crate_info.uses.insert(name, path);
                    }
                    None => self.crate_info.globs.push(path),
                }
            } else {
                self.reference(&segments);
            }
        }
    }

    /// `pub(crate)` and `pub(in …)` say who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.reference(&segments);
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let buffer = TokenBuffer::new2(mac.tokens.clone());
        let mut paths = Vec::new();
        token_paths(buffer.begin(), &mut paths);
        for segments in paths {
            self.reference(&segments);
        }
        visit::visit_macro(self, mac);
    }
}

/// The graph of the crate whose root is `root_file`, read from disk.
fn module_graph_on_disk(root_file: &Path) -> Graph {
    module_graph(root_file, &|path| std::fs::read_to_string(path).ok())
}

/// Every cycle in `graph`: the strongly connected parts of more than one node, each as its
/// nodes and one loop through them with the references that make it.
fn cycles(graph: &Graph) -> Vec<(BTreeSet<String>, Vec<String>)> {
    // Nodes that reach each other are in one part: compare reachability both ways.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(node) = todo.pop() {
            for next in graph.get(&node).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reach(n))).collect();
    let mut found: Vec<(BTreeSet<String>, Vec<String>)> = Vec::new();
    for (node, reached) in &reaches {
        if !reached.contains(*node) || found.iter().any(|(part, _)| part.contains(*node)) {
            continue;
        }
        let part: BTreeSet<String> = reached
            .iter()
            .filter(|other| reaches[other].contains(*node))
            .cloned()
            .collect();
        found.push((part.clone(), one_loop(graph, node, &part)));
    }
    found
}

/// The shortest loop from `start` back to itself inside `part`, one line per reference.
fn one_loop(graph: &Graph, start: &str, part: &BTreeSet<String>) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_owned()]);
    let mut end = None;
    'search: while let Some(node) = queue.pop_front() {
        for next in graph[&node].keys().filter(|n| part.contains(*n)) {
            if next == start {
                end = Some(node.clone());
                break 'search;
            }
            if !came_from.contains_key(next) {
                came_from.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    let mut nodes = vec![start.to_owned()];
    let mut at = end.expect("a node of a cycle reaches itself");
    while at != start {
        nodes.push(at.clone());
        at = came_from[&at].clone();
    }
    nodes.push(start.to_owned());
    nodes.reverse();
    nodes
        .windows(2)
        .map(|pair| format!("{} → {} ({})", pair[0], pair[1], graph[&pair[0]][&pair[1]]))
        .collect()
}

fn source(crate_dir: &str) -> PathBuf {
    workspace().join(crate_dir).join("src")
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
}

/// The crate roots under `src`: the library, the binary, and `src/bin/*.rs`.
fn crate_roots(src: &Path) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|name| src.join(name))
        .filter(|path| path.is_file())
        .collect();
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        roots.extend(
            bins.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs")),
        );
    }
    roots.sort();
    roots
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut loops = Vec::new();
    for dir in ["crates/core", "crates/cli", "src-tauri", "tests"] {
        let roots = crate_roots(&source(dir));
        let graphs: Vec<(PathBuf, Graph)> = roots
            .into_iter()
            .map(|root| {
                let graph = module_graph_on_disk(&root);
                (root, graph)
            })
            .collect();
        let largest = graphs.iter().map(|(_, g)| g.len()).max().unwrap_or(0);
        assert!(largest > 3, "{dir}: read only {graphs:?}");
        for (root, graph) in &graphs {
            for (part, path) in cycles(graph) {
                loops.push(format!(
                    "{}: {} import each other:\n    {}",
                    root.strip_prefix(workspace()).unwrap_or(root).display(),
                    part.into_iter().collect::<Vec<_>>().join(", "),
                    path.join("\n    ")
                ));
            }
        }
    }
    assert!(
        loops.is_empty(),
        "modules import each other in a loop:\n{}",
        loops.join("\n")
    );
}

#[test]
fn methods_other_modules_call_live_with_their_type() {
    let mut away = Vec::new();
    for dir in [
        "crates/core",
        "crates/cli",
        "crates/tray",
        "src-tauri",
        "tests",
    ] {
        for root in crate_roots(&source(dir)) {
            for found in
                impls_away_from_their_type(&root, &|path| std::fs::read_to_string(path).ok())
            {
                away.push(format!("{dir}: {found}"));
            }
        }
    }
    assert!(
        away.is_empty(),
        "methods callable from other modules, written away from their type (a call to them \
         is a dependency the cycle check cannot see):\n{}",
        away.join("\n")
    );
}

#[test]
fn the_impl_check_finds_public_methods_away_from_their_type() {
    let sources: BTreeMap<PathBuf, String> = [
        ("src/lib.rs", "mod a; mod b; mod c;"),
        ("src/a.rs", "pub struct Slot; pub struct Kept;"),
        ("src/b.rs", "use crate::a::{Slot, Kept}; impl Slot { pub fn go(&self) {} } impl Kept { fn mine(&self) {} }"),
        ("src/c.rs", "pub struct Own; impl Own { pub fn go(&self) {} }"),
    ]
    .into_iter()
    .map(|(file, text)| (PathBuf::from(file), text.to_owned()))
    .collect();
    let away =
        impls_away_from_their_type(Path::new("src/lib.rs"), &|path| sources.get(path).cloned());
    assert_eq!(away, ["b: impl Slot"]);
}

/// The graph of a crate given as `(file, source)` pairs, the first being its root.
fn inline_graph(files: &[(&str, &str)]) -> Graph {
    let sources: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
        .collect();
    module_graph(Path::new(files[0].0), &|path| sources.get(path).cloned())
}

fn edges(graph: &Graph) -> BTreeSet<(String, String)> {
    graph
        .iter()
        .flat_map(|(from, to)| to.keys().map(|to| (from.clone(), to.clone())))
        .collect()
}

fn edge(from: &str, to: &str) -> (String, String) {
    (from.to_owned(), to.to_owned())
}

#[test]
fn the_cycle_check_finds_a_cycle_through_super() {
    let graph = inline_graph(&[
        ("src/lib.rs", "mod a; mod b;"),
        ("src/a.rs", "use super::b::Thing;"),
        ("src/b.rs", "pub struct Thing; fn f() { super::a::g(); }"),
    ]);
    assert_eq!(edges(&graph), [edge("a", "b"), edge("b", "a")].into());
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ["a".to_owned(), "b".to_owned()].into());
}

#[test]
fn the_cycle_check_reads_grouped_and_nested_uses() {
    let graph = inline_graph(&[
        ("src/lib.rs", "mod a; mod b; mod c; mod d;"),
        ("src/a.rs", "use crate::{b, c::{self, X as Y}};"),
        (
            "src/b.rs",
            "use self::inner::Z; mod inner { use crate::a::W; }",
        ),
        ("src/c.rs", "pub struct X;"),
        (
            "src/d.rs",
            "fn f() -> crate::c::X { format!(\"{}\", crate::a::g()); todo!() }",
        ),
    ]);
    assert_eq!(
        edges(&graph),
        [
            edge("a", "b"),
            edge("a", "c"),
            edge("b", "a"),
            edge("d", "a"),
            edge("d", "c")
        ]
        .into()
    );
    assert_eq!(cycles(&graph).len(), 1);
}

#[test]
fn the_cycle_check_counts_the_roots_own_code_not_its_declarations() {
    // The root declares and re-exports `a` and `b`, and `b` names `a`'s item through the
    // root: no loop.
    let clean = inline_graph(&[
        (
            "src/lib.rs",
            "mod a; mod b; pub use a::Thing; pub fn run() { b::go(); }",
        ),
        ("src/a.rs", "pub struct Thing;"),
        ("src/b.rs", "use crate::Thing; pub fn go() {}"),
    ]);
    assert_eq!(edges(&clean), [edge("crate", "b"), edge("b", "a")].into());
    assert!(cycles(&clean).is_empty());

    // The root's struct holds `a`'s type while `a` uses the root's struct: a loop.
    let looped = inline_graph(&[
        (
            "src/lib.rs",
            "mod a; use a::Slot; pub struct State { pub slot: Slot }",
        ),
        ("src/a.rs", "pub struct Slot; fn f(_: &crate::State) {}"),
    ]);
    assert_eq!(
        edges(&looped),
        [edge("crate", "a"), edge("a", "crate")].into()
    );
    let found = cycles(&looped);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].1.iter().any(|step| step.contains("crate::State")),
        "{found:?}"
    );
}

#[test]
fn the_cycle_check_leaves_test_code_out_and_follows_submodule_files() {
    let graph = inline_graph(&[
        ("src/main.rs", "mod a; mod b;"),
        (
            "src/a.rs",
            "mod inner; #[cfg(all(test, unix))] mod tests { use crate::b; }",
        ),
        (
            "src/a/inner.rs",
            "use super::super::b::X; fn f() { super::g(); }",
        ),
        (
            "src/b/mod.rs",
            "use crate::a::Y; #[cfg(test)] fn t() { crate::c(); }",
        ),
    ]);
    assert_eq!(edges(&graph), [edge("a", "b"), edge("b", "a")].into());
}

#[test]
fn core_keeps_its_shared_types_at_the_ground() {
    let graph = module_graph_on_disk(&source("crates/core").join("lib.rs"));
    for leaf in ["model", "site", "secret", "time"] {
        assert!(graph[leaf].is_empty(), "{leaf} imports {:?}", graph[leaf]);
    }
}

#[test]
fn the_desktop_apps_modules_never_import_its_root() {
    let graph = module_graph_on_disk(&source("src-tauri").join("lib.rs"));
    for (module, deps) in &graph {
        assert!(
            !deps.contains_key(ROOT),
            "{module} imports the root: {deps:?}"
        );
    }
    for leaf in ["in_flight", "sign_in_window"] {
        assert!(graph[leaf].is_empty(), "{leaf} imports {:?}", graph[leaf]);
    }
    let state: Vec<&str> = graph["state"].keys().map(String::as_str).collect();
    assert_eq!(state, ["in_flight", "sign_in_window"]);
}
