//! Progress bars for what `ProgressView` shows. An unknown total is drawn as a marquee that
//! moves at the window's own repaint rate (egui's animated bar would repaint every frame).

use crate::core::progress::Shown;
use egui::{Rect, Sense, Ui, vec2};

/// Seconds a marquee takes to cross the bar.
const MARQUEE_PERIOD: f64 = 1.6;

pub fn show(ui: &mut Ui, shown: Shown, width: f32, name: &str) -> egui::Response {
    if shown.determinate {
        let percent = format!("{:.0}%", shown.fraction * 100.0);
        return ui
            .add(
                egui::ProgressBar::new(shown.fraction)
                    .desired_width(width)
                    .desired_height(16.0)
                    .text(percent),
            )
            .accessible_name(name);
    }
    let (rect, response) = ui.allocate_exact_size(vec2(width, 16.0), Sense::hover());
    let visuals = ui.visuals();
    let radius = rect.height() / 2.0;
    ui.painter()
        .rect_filled(rect, radius, visuals.extreme_bg_color);
    let phase = (ui.input(|i| i.time) / MARQUEE_PERIOD).fract() as f32;
    let segment = rect.width() * 0.3;
    let left = rect.left() - segment + phase * (rect.width() + segment);
    let moving = Rect::from_x_y_ranges(left..=left + segment, rect.y_range()).intersect(rect);
    ui.painter()
        .rect_filled(moving, radius, visuals.selection.bg_fill);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ProgressIndicator, true, name));
    response
}
