//! Progress bars for what `ProgressView` shows, drawn here so that the empty part of a bar
//! reads on light and dark rows alike. An unknown total is a marquee that moves at the
//! window's own repaint rate (egui's animated bar would repaint every frame).

use crate::core::progress::Shown;
use egui::{Align2, Rect, Sense, Ui, vec2};

/// Seconds a marquee takes to cross the bar.
const MARQUEE_PERIOD: f64 = 1.6;
const HEIGHT: f32 = 16.0;

pub fn show(ui: &mut Ui, shown: Shown, width: f32, name: &str) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(vec2(width, HEIGHT), Sense::hover());
    let visuals = ui.visuals();
    let radius = rect.height() / 2.0;
    let painter = ui.painter();
    let fill = visuals.selection.bg_fill;
    // A selected table row is painted in the selection colour and overrides its text
    // colour: there the track is the field colour and gets an outline, so the bar stays
    // visible.
    match visuals.override_text_color {
        Some(outline) => {
            painter.rect_filled(rect, radius, visuals.extreme_bg_color);
            painter.rect_stroke(
                rect,
                radius,
                egui::Stroke::new(1.0, outline),
                egui::StrokeKind::Inside,
            );
        }
        None => {
            painter.rect_filled(rect, radius, visuals.widgets.inactive.bg_fill);
        }
    }
    if shown.determinate {
        let done = Rect::from_min_size(rect.min, vec2(rect.width() * shown.fraction, HEIGHT));
        painter.rect_filled(done, radius, fill);
        painter.text(
            rect.left_center() + vec2(8.0, 0.0),
            Align2::LEFT_CENTER,
            format!("{:.0}%", shown.fraction * 100.0),
            egui::FontId::proportional(12.0),
            visuals.strong_text_color(),
        );
    } else {
        let phase = (ui.input(|i| i.time) / MARQUEE_PERIOD).fract() as f32;
        let segment = rect.width() * 0.3;
        let left = rect.left() - segment + phase * (rect.width() + segment);
        let moving = Rect::from_x_y_ranges(left..=left + segment, rect.y_range()).intersect(rect);
        painter.rect_filled(moving, radius, fill);
    }
    // Screen readers hear the name and, when it is known, the percentage.
    let value = shown
        .determinate
        .then_some(f64::from(shown.fraction) * 100.0);
    response.widget_info(|| egui::WidgetInfo {
        value,
        ..egui::WidgetInfo::labeled(egui::Role::ProgressIndicator, true, name)
    });
    response
}
