//! Mounting a component's leptos view into its host element's shadow root.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};

use crate::contract::MountContext;
use crate::failure;

/// A mounted component: dropping or unmounting it removes its view and its listeners.
pub struct Mounted {
    view: Option<Box<dyn std::any::Any>>,
    container: HtmlElement,
}

impl Mounted {
    /// Disposes the view (and everything it owns: resources, listeners, subscriptions) and
    /// removes it from the shadow root.
    pub fn unmount(&mut self) {
        self.view.take();
        self.container.remove();
    }
}

/// Mounts `app` into `host`'s shadow root (attaching an open one if the shell did not), with
/// `style` scoped to that root and the context provided to the whole view.
pub fn mount<F, N>(
    component: &'static str,
    version: &'static str,
    host: HtmlElement,
    context: JsValue,
    style: &'static str,
    app: F,
) -> Result<Mounted, JsValue>
where
    F: FnOnce(MountContext) -> N + 'static,
    N: IntoView + 'static,
{
    failure::install_panic_hook(component);
    let ctx: MountContext = crate::js::from_js(context)
        .map_err(|e| JsValue::from_str(&format!("{component}: bad mount context: {e}")))?;
    let root = match host.shadow_root() {
        Some(root) => root,
        None => host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
    };
    let document = host
        .owner_document()
        .ok_or_else(|| JsValue::from_str("host is not in a document"))?;
    for text in [crate::style::BASE_CSS, style] {
        let css = document.create_element("style")?;
        css.set_text_content(Some(text));
        root.append_child(&css)?;
    }
    let container: HtmlElement = document.create_element("div")?.dyn_into()?;
    container.set_attribute("data-component", component)?;
    container.set_attribute("data-version", version)?;
    container.set_class_name("mall-component");
    root.append_child(&container)?;
    let view = leptos::mount::mount_to(container.clone(), move || {
        provide_context(ctx.clone());
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::arm(component);
        app(ctx)
    });
    Ok(Mounted {
        view: Some(Box::new(view)),
        container,
    })
}

/// Exports the mount contract from a component crate: `mount(host, context) -> Handle`,
/// `Handle.unmount()`, `contractVersion()` and `componentName()`.
///
/// `export_component!("product", STYLE, |ctx| view! { <Catalogue ctx/> });`
#[macro_export]
macro_rules! export_component {
    ($name:literal, $style:expr, $app:expr) => {
        /// The handle `mount` returns; `unmount()` removes the component.
        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen]
        pub struct Handle($crate::mount::Mounted);

        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen]
        impl Handle {
            /// Removes the component's view and stops its listeners and subscriptions.
            pub fn unmount(&mut self) {
                self.0.unmount()
            }
        }

        /// Mounts the component into `host`'s shadow root with the shell's context.
        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen]
        pub fn mount(
            host: $crate::__private::web_sys::HtmlElement,
            context: $crate::__private::wasm_bindgen::JsValue,
        ) -> Result<Handle, $crate::__private::wasm_bindgen::JsValue> {
            $crate::mount::mount($name, BUNDLE_VERSION, host, context, $style, $app).map(Handle)
        }

        /// The bundle's version: the one it was deployed as (`MALL_BUNDLE_VERSION` at build
        /// time), else the crate's.
        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen(js_name = componentVersion)]
        pub fn component_version() -> String {
            BUNDLE_VERSION.to_owned()
        }

        const BUNDLE_VERSION: &str = match option_env!("MALL_BUNDLE_VERSION") {
            Some(version) => version,
            None => env!("CARGO_PKG_VERSION"),
        };

        /// The mount contract version this bundle implements.
        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen(js_name = contractVersion)]
        pub fn contract_version() -> u32 {
            $crate::CONTRACT_VERSION
        }

        /// The component's name, as in components.json.
        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen(js_name = componentName)]
        pub fn component_name() -> String {
            $name.to_owned()
        }
    };
}
