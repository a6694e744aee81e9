//! Deploy-time checks of a compiled module's imports and exports: every problem is collected,
//! each with its own message.

use wasmtime::{ExternType, FuncType, Module};

use crate::abi::{IMPORTS, NAMESPACE};

/// Exports every module must have, with their signatures (`memory` is checked separately).
pub(crate) const DESCRIBE: &str = "__cosmictron_describe";
pub(crate) const CALL: &str = "__cosmictron_call";
/// Exports with this prefix register a table or a reducer; the host calls them all (sorted by
/// name) after instantiating the module.
pub(crate) const REGISTER_PREFIX: &str = "__cosmictron_register_";

/// A function type as `params->results`, e.g. `i32,i32->i32`.
pub(crate) fn signature(ty: &FuncType) -> String {
    let params: Vec<String> = ty.params().map(|t| t.to_string()).collect();
    let results: Vec<String> = ty.results().map(|t| t.to_string()).collect();
    format!("{}->{}", params.join(","), results.join(","))
}

fn check_imports(module: &Module, problems: &mut Vec<String>) {
    for import in module.imports() {
        let (ns, name) = (import.module(), import.name());
        if ns != NAMESPACE {
            problems.push(format!(
                "import `{ns}.{name}`: only `{NAMESPACE}` imports are allowed (is the module built for wasm32-unknown-unknown with the Cosmictron SDK?)"
            ));
            continue;
        }
        let Some((_, expected)) = IMPORTS.iter().find(|(n, _)| *n == name) else {
            problems.push(format!(
                "import `{ns}.{name}`: this host has no such function"
            ));
            continue;
        };
        match import.ty() {
            ExternType::Func(ty) if signature(&ty) == *expected => {}
            ExternType::Func(ty) => problems.push(format!(
                "import `{ns}.{name}`: expected signature {expected}, found {}",
                signature(&ty)
            )),
            _ => problems.push(format!("import `{ns}.{name}`: must be a function")),
        }
    }
}

fn check_exports(module: &Module, problems: &mut Vec<String>) {
    let mut memory = false;
    let mut required = [(DESCRIBE, "->i32", false), (CALL, "i32->i32", false)];
    for export in module.exports() {
        let name = export.name();
        match export.ty() {
            ExternType::Memory(_) if name == "memory" => memory = true,
            ExternType::Func(ty) => {
                let sig = signature(&ty);
                if let Some(req) = required.iter_mut().find(|r| r.0 == name) {
                    req.2 = true;
                    if sig != req.1 {
                        problems.push(format!(
                            "export `{name}`: expected signature {}, found {sig}",
                            req.1
                        ));
                    }
                } else if name.starts_with(REGISTER_PREFIX) && sig != "->" {
                    problems.push(format!(
                        "export `{name}`: registration functions take and return nothing, found {sig}"
                    ));
                }
            }
            _ => {}
        }
    }
    if !memory {
        problems.push("missing export `memory` (the module's linear memory)".to_owned());
    }
    for (name, sig, found) in required {
        if !found {
            problems.push(format!(
                "missing export `{name}` ({sig}); modules get it from the Cosmictron SDK"
            ));
        }
    }
}

/// Every problem with the module's imports and exports.
pub(crate) fn problems(module: &Module) -> Vec<String> {
    let mut problems = Vec::new();
    check_imports(module, &mut problems);
    check_exports(module, &mut problems);
    problems
}

/// The registration exports, in the order the host calls them.
pub(crate) fn registrations(module: &Module) -> Vec<String> {
    let mut names: Vec<String> = module
        .exports()
        .filter(|e| e.name().starts_with(REGISTER_PREFIX))
        .map(|e| e.name().to_owned())
        .collect();
    names.sort();
    names
}
