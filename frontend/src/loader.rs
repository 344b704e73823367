//! Importing a component's ES module and mounting it.
//!
//! Every attempt after the first imports the module under a fresh URL (`?instance=N`), so the
//! browser evaluates it again and instantiates new wasm: an instance that trapped is never
//! reused, and a module that failed to load is not served from the module map.

use alloc::borrow::ToOwned;
use alloc::string::String;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlElement;

use crate::text::{concat, decimal, message};

use crate::manifest::{Entry, SHELL_CONTRACT};

/// The page's import function, `(url) => import(url)`, handed over by the document's start
/// script (`run`) and given to every slot. Rust cannot express a dynamic import, and the
/// page's script policy refuses functions built from source at run time (`new Function`): the
/// document's own start script (allowed by its hash) makes the function and hands it over.
/// A JS snippet file would do too, but it is one more module the browser must fetch before
/// the shell can start (a step deeper in the page's request chain).
#[derive(Clone, Debug)]
pub struct Importer(Function);

impl Importer {
    pub fn new(import: Function) -> Importer {
        Importer(import)
    }

    /// `import(url)`, through the page's import function (whatever it returns, as a promise).
    fn import(&self, url: &str) -> Result<Promise, JsValue> {
        let module = self.0.call1(&JsValue::UNDEFINED, &JsValue::from_str(url))?;
        Ok(Promise::resolve(&module))
    }
}

/// Why a component is not on the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    Missing,
    Contract { wanted: u32, found: u32 },
    Import(String),
    Init(String),
    Mount(String),
    Timeout(u32),
    Crashed(String),
    Manifest(String),
}

impl LoadError {
    /// What the slot tells the customer.
    pub fn summary(&self) -> &'static str {
        match self {
            LoadError::Missing | LoadError::Manifest(_) => "is not available right now.",
            LoadError::Contract { .. } => "is a version this page cannot run.",
            LoadError::Import(_) | LoadError::Init(_) | LoadError::Mount(_) => {
                "could not be loaded."
            }
            LoadError::Timeout(_) => "took too long to load.",
            LoadError::Crashed(_) => "stopped working.",
        }
    }

    /// What went wrong, for the fallback's detail line and the console.
    pub fn detail(&self) -> String {
        match self {
            LoadError::Missing => "not listed in components.json".to_owned(),
            LoadError::Contract { wanted, found } => concat(&[
                "incompatible contract version ",
                &decimal(*found),
                " (this shell speaks ",
                &decimal(*wanted),
                ")",
            ]),
            LoadError::Import(e) => concat(&["import failed: ", e]),
            LoadError::Init(e) => concat(&["wasm initialisation failed: ", e]),
            LoadError::Mount(e) => concat(&["mount failed: ", e]),
            LoadError::Timeout(ms) => concat(&["did not load within ", &decimal(*ms), " ms"]),
            LoadError::Crashed(e) => concat(&["panicked: ", e]),
            LoadError::Manifest(e) => e.clone(),
        }
    }
}

/// The module URL for this attempt.
pub fn module_url(entry: &Entry, instance: u32) -> String {
    let url = crate::config::absolute(&entry.entry);
    if instance == 0 {
        url
    } else {
        concat(&[&url, "?instance=", &decimal(instance)])
    }
}

/// The wasm a retry initialises: wasm-bindgen's `<module>_bg.wasm` beside the module, under
/// the attempt's own URL. The document preloads the plain URL for the first attempt (which
/// lets the module find its wasm itself); a retry must not be handed that preloaded response,
/// which may be the very failure it retries.
pub fn wasm_url(entry: &Entry, instance: u32) -> Option<String> {
    if instance == 0 {
        return None;
    }
    let module = entry.entry.strip_suffix(".js")?;
    let mut url = crate::config::absolute(module);
    url.push_str("_bg.wasm?instance=");
    url.push_str(&decimal(instance));
    Some(url)
}

/// Checks the manifest entry's contract before anything is fetched.
pub fn check_contract(entry: &Entry) -> Result<(), LoadError> {
    if entry.contract == SHELL_CONTRACT {
        Ok(())
    } else {
        Err(LoadError::Contract {
            wanted: SHELL_CONTRACT,
            found: entry.contract,
        })
    }
}

/// Imports, initialises and mounts one instance of a component into `host`; returns the
/// handle (`handle.unmount()`). The context is taken at the moment of mounting, so a change
/// (say, of customer) while the module loads is not lost.
pub async fn load(
    importer: &Importer,
    entry: &Entry,
    instance: u32,
    host: &HtmlElement,
    context: impl Fn() -> JsValue,
) -> Result<JsValue, LoadError> {
    check_contract(entry)?;
    let url = module_url(entry, instance);
    let import = importer
        .import(&url)
        .map_err(|e| LoadError::Import(message(&e)))?;
    let module = JsFuture::from(import)
        .await
        .map_err(|e| LoadError::Import(message(&e)))?;
    let export = |name: &str| -> Result<Function, LoadError> {
        Reflect::get(&module, &JsValue::from_str(name))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| LoadError::Import(concat(&["the module has no `", name, "` export"])))
    };
    let init = export("default")?;
    let started = match wasm_url(entry, instance) {
        Some(wasm) => {
            let options = js_sys::Object::new();
            Reflect::set(&options, &"module_or_path".into(), &wasm.into())
                .map_err(|e| LoadError::Init(message(&e)))?;
            init.call1(&JsValue::UNDEFINED, &options)
        }
        None => init.call0(&JsValue::UNDEFINED),
    }
    .map_err(|e| LoadError::Init(message(&e)))?;
    JsFuture::from(Promise::resolve(&started))
        .await
        .map_err(|e| LoadError::Init(message(&e)))?;
    let found = export("contractVersion")?
        .call0(&JsValue::UNDEFINED)
        .ok()
        .and_then(|v| v.as_f64())
        .map(|v| v as u32)
        .unwrap_or(0);
    if found != SHELL_CONTRACT {
        return Err(LoadError::Contract {
            wanted: SHELL_CONTRACT,
            found,
        });
    }
    export("mount")?
        .call2(&JsValue::UNDEFINED, host, &context())
        .map_err(|e| LoadError::Mount(message(&e)))
}
