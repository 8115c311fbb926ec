//! Glyphs from egui's default fonts for handlers, items, statuses and log levels, and the
//! status colours. Every glyph here is checked to exist in those fonts.

use crate::core::model::{Icon, LogLevel};
use crate::core::status::ItemStatus;
use egui::{Color32, RichText, Visuals};

pub const SYNC: &str = "🔄";
pub const STOP: &str = "⏹";
pub const PROPERTIES: &str = "⚙";
pub const EXPANDED: &str = "⏷";
pub const COLLAPSED: &str = "⏵";
pub const CONFLICT: &str = "⚠";
pub const NOTICE: &str = "ℹ";
/// A row's menu, in a window too small for its buttons.
pub const MORE: &str = "☰";

pub fn item(icon: &Icon) -> &'static str {
    match icon {
        Icon::Generic => "📦",
        Icon::Folder => "🗀",
        Icon::Mail => "✉",
        Icon::Calendar => "📅",
        Icon::Contacts => "👤",
        Icon::Photos => "📷",
        Icon::Device => "📱",
        Icon::Repository => "🗄",
        Icon::Cloud => "☁",
        Icon::Program => "⚙",
    }
}

pub fn status(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Pending => "🕓",
        ItemStatus::Waiting => "⏳",
        ItemStatus::Updating | ItemStatus::Indeterminate => SYNC,
        ItemStatus::Succeeded => "✔",
        ItemStatus::Failed => "✖",
        ItemStatus::Skipped => "⏭",
        ItemStatus::Canceled => STOP,
    }
}

pub fn level(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Info => NOTICE,
        LogLevel::Warning => "⚠",
        LogLevel::Error => "✖",
    }
}

/// Green that reads on both light and dark backgrounds.
fn good(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(0x6c, 0xd0, 0x8a)
    } else {
        Color32::from_rgb(0x1e, 0x7e, 0x34)
    }
}

pub fn status_color(status: ItemStatus, visuals: &Visuals) -> Color32 {
    match status {
        ItemStatus::Succeeded => good(visuals),
        ItemStatus::Failed => visuals.error_fg_color,
        ItemStatus::Waiting => visuals.warn_fg_color,
        ItemStatus::Updating | ItemStatus::Indeterminate => visuals.hyperlink_color,
        ItemStatus::Pending | ItemStatus::Skipped | ItemStatus::Canceled => {
            visuals.weak_text_color()
        }
    }
}

pub fn level_color(level: LogLevel, visuals: &Visuals) -> Color32 {
    match level {
        LogLevel::Info => visuals.hyperlink_color,
        LogLevel::Warning => visuals.warn_fg_color,
        LogLevel::Error => visuals.error_fg_color,
    }
}

/// A status glyph in its colour.
pub fn status_glyph(status: ItemStatus, visuals: &Visuals) -> RichText {
    RichText::new(self::status(status)).color(status_color(status, visuals))
}

/// A level glyph in its colour.
pub fn level_glyph(level: LogLevel, visuals: &Visuals) -> RichText {
    RichText::new(self::level(level)).color(level_color(level, visuals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_exists_in_the_default_fonts() {
        let ctx = egui::Context::default();
        // Fonts are loaded by the first frame.
        ctx.run_ui(Default::default(), |_| {})
            .textures_delta
            .clear();
        let icons = [
            Icon::Generic,
            Icon::Folder,
            Icon::Mail,
            Icon::Calendar,
            Icon::Contacts,
            Icon::Photos,
            Icon::Device,
            Icon::Repository,
            Icon::Cloud,
            Icon::Program,
        ];
        let statuses = [
            ItemStatus::Pending,
            ItemStatus::Waiting,
            ItemStatus::Updating,
            ItemStatus::Succeeded,
            ItemStatus::Failed,
            ItemStatus::Skipped,
            ItemStatus::Canceled,
        ];
        let glyphs = [
            SYNC, STOP, PROPERTIES, EXPANDED, COLLAPSED, CONFLICT, NOTICE, MORE,
        ]
        .into_iter()
        .chain(icons.iter().map(item))
        .chain(statuses.into_iter().map(status))
        .chain([LogLevel::Info, LogLevel::Warning, LogLevel::Error].map(level))
        // Folder pairs' rows show their direction.
        .chain(crate::handlers::folders::config::Mode::ALL.map(|mode| mode.arrow()));
        let font = egui::FontId::proportional(14.0);
        for glyph in glyphs {
            assert!(
                ctx.fonts_mut(|fonts| fonts.has_glyphs(&font, glyph)),
                "{glyph} is missing"
            );
        }
    }
}
