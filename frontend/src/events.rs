//! The `mall:*` events the shell listens to (schema/events.md), by name: it reads no detail
//! but a failed component's name and message, so it needs none of the kit's decoders.

/// A component panicked (its panic hook dispatched it); detail `{component, message}`.
pub const COMPONENT_FAILED: &str = "mall:component-failed";
/// The BFF refused a component's call or closed its live link for the session's end.
pub const SESSION_ENDED: &str = "mall:session-ended";

#[cfg(test)]
mod tests {
    use mall_kit::events::{ComponentFailed, MallEvent, SessionEnded};

    #[test]
    fn the_names_are_the_kits() {
        assert_eq!(super::COMPONENT_FAILED, ComponentFailed::NAME);
        assert_eq!(super::SESSION_ENDED, SessionEnded::NAME);
    }
}
