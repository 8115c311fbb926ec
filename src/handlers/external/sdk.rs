//! The handler's side for Rust: serves any [`Handler`] over stdin/stdout, so the same handler
//! runs in the center's process or as its own program. The callback it is given implements
//! [`Host`] by talking to the center: `progress`, `report_work` and a few others travel as
//! notifications (no round trip; skips and stops arrive as notifications and are answered
//! from what was last heard), the rest as requests that wait for the center's answer.

use crate::core::activity::Activity;
use crate::core::callback::{Callback, ConnectionError, Heard, Host, LogLine, Progress, Reply};
use crate::core::conflicts::{ConflictReport, Resolution};
use crate::core::dialog::{Form, FormReply, UiRefused};
use crate::core::handler::{CallFailure, Handler, HandlerError, HandlerResult, call_guarded};
use crate::core::model::{
    ItemId, LogId, Participation, PropertiesOutcome, PropertiesTarget, RunContext, ShowErrorOutcome,
};
use crate::core::progress::WorkReport;
use crate::handlers::external::protocol::{
    ActivityParams, ChosenResolutionsResult, DeleteLogParams, EnumerateResult,
    EstablishConnectionParams, EstablishConnectionResult, FrameDecoder, HandlerCapabilities,
    InitializeParams, InitializeResult, ItemParams, ItemsParams, LogParams, LogResult, Message,
    NoParams, PROTOCOL_VERSION, PlannedItem, PreviewResult, ProgressParams, PropertiesParams,
    PropertiesResult, ReplaceConflictsParams, ReplyResult, ReportWorkParams, RequestId,
    RequestUiParams, RequestUiResult, RpcError, ShowErrorParams, ShowErrorResult, ShowFormParams,
    UiRefusal, code, method, write_notification, write_request, write_response,
};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How long a notification may sit in the buffer before it is sent anyway.
const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// The largest message accepted from the center.
const MAX_HOST_MESSAGE_BYTES: usize = 64 << 20;
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Serves `handler` on this process's stdin and stdout until the center says `shutdown`
/// or closes stdin. Nothing else may write to stdout meanwhile; use stderr for diagnostics.
pub fn serve_stdio(handler: Box<dyn Handler>) -> std::io::Result<()> {
    serve(handler, std::io::stdin(), std::io::stdout())
}

/// Serves `handler` on any pair of streams.
pub fn serve(
    mut handler: Box<dyn Handler>,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> std::io::Result<()> {
    let link = Arc::new(Link::new(Box::new(output)));
    let (requests_tx, requests) = crossbeam_channel::unbounded();
    let reader = link.clone();
    std::thread::Builder::new()
        .name("sdk-read".into())
        .spawn(move || reader.read_center(input, &requests_tx))?;
    let flusher = link.clone();
    std::thread::Builder::new()
        .name("sdk-flush".into())
        .spawn(move || flusher.flush_now_and_then())?;
    serve_requests(handler.as_mut(), &link, &requests);
    link.closed.store(true, Ordering::Release);
    link.flush();
    Ok(())
}

type CenterRequest = (RequestId, String, Value);

fn serve_requests(handler: &mut dyn Handler, link: &Arc<Link>, requests: &Receiver<CenterRequest>) {
    let mut callback: Option<Callback> = None;
    for (id, name, params) in requests {
        if name == method::SHUTDOWN {
            link.respond(&id, Ok(&Value::Null));
            break;
        }
        let outcome = dispatch(handler, link, &mut callback, &name, params);
        link.respond(&id, outcome.as_ref());
    }
}

fn dispatch(
    handler: &mut dyn Handler,
    link: &Arc<Link>,
    callback: &mut Option<Callback>,
    name: &str,
    params: Value,
) -> Result<Value, RpcError> {
    match name {
        method::INITIALIZE => {
            let p: InitializeParams = parse(params)?;
            let context = RunContext {
                reason: p.reason,
                may_bother_user: p.may_bother_user,
            };
            let participation = guarded(|| handler.initialize(&context))?;
            *callback = Some(Callback::from_host(Arc::new(StdioHost {
                context,
                link: link.clone(),
            })));
            to_value(InitializeResult {
                protocol_version: PROTOCOL_VERSION,
                participate: participation == Participation::TakesPart,
                capabilities: HandlerCapabilities {
                    cancel_notifications: true,
                    preview: true,
                },
            })
        }
        method::INFO => to_value(handler.info()),
        method::ENUMERATE => {
            let listed = guarded(|| handler.enumerate())?;
            to_value(EnumerateResult {
                items: listed.items,
                some_missing: listed.some_missing,
            })
        }
        method::PROPERTIES => {
            let p: PropertiesParams = parse(params)?;
            let callback = initialized(callback)?;
            let target = p
                .item
                .map_or(PropertiesTarget::Handler, PropertiesTarget::Item);
            let outcome = guarded(|| handler.show_properties(&target, callback))?;
            to_value(PropertiesResult {
                items_changed: outcome != PropertiesOutcome::Unchanged,
                item_deleted: outcome == PropertiesOutcome::ItemDeleted,
            })
        }
        method::PREPARE => {
            let p: ItemsParams = parse(params)?;
            let callback = initialized(callback)?;
            guarded(|| handler.prepare(&p.items, callback))?;
            Ok(Value::Null)
        }
        method::SYNCHRONIZE => {
            let p: ItemsParams = parse(params)?;
            let callback = initialized(callback)?;
            guarded(|| handler.synchronize(&p.items, callback))?;
            Ok(Value::Null)
        }
        method::PREVIEW => {
            let p: ItemsParams = parse(params)?;
            let callback = initialized(callback)?;
            let answers = guarded(|| handler.preview(&p.items, callback))?;
            to_value(PreviewResult {
                items: answers
                    .map(|answers| answers.into_iter().map(PlannedItem::from_answer).collect()),
            })
        }
        method::SHOW_ERROR => {
            let p: ShowErrorParams = parse(params)?;
            let callback = initialized(callback)?;
            let retry = match guarded(|| handler.show_error(p.log_id, callback))? {
                ShowErrorOutcome::Done => Vec::new(),
                ShowErrorOutcome::Retry(items) => items,
            };
            to_value(ShowErrorResult { retry })
        }
        _ => Err(RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("this handler has no method `{name}`"),
        )),
    }
}

fn initialized(callback: &Option<Callback>) -> Result<&Callback, RpcError> {
    callback
        .as_ref()
        .ok_or_else(|| RpcError::new(code::NO_RUN, "`initialize` has not been called"))
}

/// Runs a handler method; its error or panic becomes an error answer for the center.
fn guarded<T>(call: impl FnOnce() -> HandlerResult<T>) -> Result<T, RpcError> {
    call_guarded(call).map_err(|failure| {
        let message = match failure {
            CallFailure::Error(HandlerError(message)) => message,
            panic => panic.to_string(),
        };
        RpcError::new(code::HANDLER_FAILED, message)
    })
}

fn parse<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| RpcError::new(code::INVALID_PARAMS, format!("bad parameters: {e}")))
}

fn to_value(value: impl Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::new(code::HANDLER_FAILED, e.to_string()))
}

/// The connection to the center: the output, the requests waiting for answers, and the
/// skips and stops heard so far.
struct Link {
    out: Mutex<BufWriter<Box<dyn Write + Send>>>,
    /// Notifications written but not flushed yet.
    unflushed: AtomicBool,
    closed: AtomicBool,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Sender<Result<Value, RpcError>>>>,
    /// Set once any skip or stop arrived, so that progress needs no lock until then.
    any_item_request: AtomicBool,
    item_requests: Mutex<HashMap<ItemId, Reply>>,
    stop_all: AtomicBool,
}

/// Why a request got no answer.
enum Unanswered {
    CenterGone,
    Refused(RpcError),
}

impl Link {
    fn new(output: Box<dyn Write + Send>) -> Self {
        Self {
            out: Mutex::new(BufWriter::with_capacity(OUTPUT_BUFFER, output)),
            unflushed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            any_item_request: AtomicBool::new(false),
            item_requests: Mutex::new(HashMap::new()),
            stop_all: AtomicBool::new(false),
        }
    }

    /// Reads the center's messages: requests go to the serving loop, answers to whoever
    /// waits for them, skips and stops into the state progress answers from.
    fn read_center(&self, mut input: impl Read, requests: &Sender<CenterRequest>) {
        let mut decoder = FrameDecoder::new(MAX_HOST_MESSAGE_BYTES);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match input.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            decoder.feed(&buffer[..read], &mut |message| match message {
                Ok(message) => self.take(message, requests),
                Err(error) => eprintln!("synccenter handler: ignoring a message: {error}"),
            });
        }
        // The center is gone: stop whatever runs, fail whatever waits.
        self.stop_all.store(true, Ordering::Release);
        self.pending.lock().clear();
    }

    fn take(&self, message: Message, requests: &Sender<CenterRequest>) {
        match message {
            Message::Request { id, method, params } => {
                let _ = requests.send((id, method, params));
            }
            Message::Notification { method, params } => {
                let reply = match method.as_str() {
                    method::STOP_ALL => {
                        self.stop_all.store(true, Ordering::Release);
                        return;
                    }
                    method::SKIP_ITEM => Reply::SkipItem,
                    method::STOP_ITEM => Reply::CancelItem,
                    _ => return,
                };
                if let Ok(ItemParams { item }) = serde_json::from_value(params) {
                    self.item_requests.lock().insert(item, reply);
                    self.any_item_request.store(true, Ordering::Release);
                }
            }
            Message::Response {
                id: Some(RequestId::Number(id)),
                outcome,
            } => {
                let waiting = self.pending.lock().remove(&(id as u64));
                if let Some(waiting) = waiting {
                    let _ = waiting.send(outcome);
                }
            }
            Message::Response { .. } => {}
        }
    }

    /// The answer for an item from what the center said so far.
    fn reply_for(&self, item: &ItemId) -> Reply {
        if self.stop_all.load(Ordering::Acquire) {
            return Reply::CancelAll;
        }
        if !self.any_item_request.load(Ordering::Acquire) {
            return Reply::Continue;
        }
        self.item_requests
            .lock()
            .get(item)
            .copied()
            .unwrap_or(Reply::Continue)
    }

    fn notify(&self, name: &str, params: &impl Serialize) {
        let mut out = self.out.lock();
        // A write error means the center is gone; the reader sees it and stops the handler.
        let _ = write_notification(&mut *out, name, params);
        self.unflushed.store(true, Ordering::Release);
    }

    fn request<T: DeserializeOwned>(
        &self,
        name: &str,
        params: &impl Serialize,
    ) -> Result<T, Unanswered> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer_tx, answer) = crossbeam_channel::bounded(1);
        self.pending.lock().insert(id, answer_tx);
        {
            let mut out = self.out.lock();
            let sent = write_request(&mut *out, id, name, params).and_then(|()| out.flush());
            if sent.is_err() {
                self.pending.lock().remove(&id);
                return Err(Unanswered::CenterGone);
            }
        }
        match answer.recv() {
            Ok(Ok(value)) => serde_json::from_value(value).map_err(|e| {
                Unanswered::Refused(RpcError::new(code::INVALID_PARAMS, e.to_string()))
            }),
            Ok(Err(error)) => Err(Unanswered::Refused(error)),
            Err(_) => Err(Unanswered::CenterGone),
        }
    }

    fn respond(&self, id: &RequestId, outcome: Result<&Value, &RpcError>) {
        let mut out = self.out.lock();
        let _ = write_response(&mut *out, id, outcome).and_then(|()| out.flush());
    }

    fn flush(&self) {
        if self.unflushed.swap(false, Ordering::AcqRel) {
            let _ = self.out.lock().flush();
        }
    }

    /// Sends buffered notifications every few milliseconds until the link closes.
    fn flush_now_and_then(&self) {
        while !self.closed.load(Ordering::Acquire) {
            std::thread::sleep(FLUSH_EVERY);
            self.flush();
        }
    }
}

/// The center, as seen from the handler's process.
struct StdioHost {
    context: RunContext,
    link: Arc<Link>,
}

impl StdioHost {
    /// Reports a failed callback on stderr, which the center shows when the handler fails.
    fn complain(&self, name: &str, unanswered: Unanswered) {
        match unanswered {
            Unanswered::CenterGone => {}
            Unanswered::Refused(error) => {
                eprintln!("synccenter handler: the center refused `{name}`: {error}");
            }
        }
    }
}

impl Host for StdioHost {
    fn context(&self) -> &RunContext {
        &self.context
    }

    fn progress(&self, item: &ItemId, progress: Progress<'_>, _heard: Heard) -> Reply {
        let params = ProgressParams {
            item: Cow::Borrowed(item),
            text: progress.text.map(Cow::Borrowed),
            status: progress.status,
            value: progress.value,
            max: progress.max,
            figures: progress.figures.map(Cow::Borrowed),
        };
        self.link.notify(method::PROGRESS, &params);
        self.link.reply_for(item)
    }

    fn check(&self, item: &ItemId) -> Reply {
        let params = ItemParams { item: item.clone() };
        match self.link.request::<ReplyResult>(method::CHECK, &params) {
            Ok(result) => result.reply.into(),
            Err(unanswered) => {
                self.complain(method::CHECK, unanswered);
                Reply::CancelAll
            }
        }
    }

    fn report_work(&self, item: &ItemId, report: WorkReport, _heard: Heard) -> Reply {
        let params = ReportWorkParams {
            item: Cow::Borrowed(item),
            report,
        };
        self.link.notify(method::REPORT_WORK, &params);
        self.link.reply_for(item)
    }

    // The relay calls are the center's; in the handler's process there is nothing to relay.
    fn peek(&self, item: &ItemId) -> Reply {
        self.link.reply_for(item)
    }

    fn told(&self, _item: &ItemId, _reply: Reply) {}

    fn abandoned(&self) -> bool {
        false
    }

    fn log(&self, line: LogLine) -> LogId {
        let params = LogParams {
            level: line.level,
            text: line.text,
            item: line.item,
            actionable: line.actionable,
        };
        match self.link.request::<LogResult>(method::LOG, &params) {
            Ok(result) => result.log_id,
            Err(unanswered) => {
                self.complain(method::LOG, unanswered);
                LogId(0)
            }
        }
    }

    fn delete_log(&self, id: Option<LogId>) {
        let params = match id {
            Some(id) => DeleteLogParams::one(id),
            None => DeleteLogParams::all(),
        };
        self.link.notify(method::DELETE_LOG, &params);
    }

    fn acquire_ui(&self, about: Option<&ItemId>) -> Result<(), UiRefused> {
        let params = RequestUiParams {
            item: about.cloned(),
        };
        match self
            .link
            .request::<RequestUiResult>(method::REQUEST_UI, &params)
        {
            Ok(result) if result.granted => Ok(()),
            Ok(result) => Err(match result.reason {
                Some(UiRefusal::NotAllowed) => UiRefused::NotAllowed,
                _ => UiRefused::Canceled,
            }),
            Err(unanswered) => {
                self.complain(method::REQUEST_UI, unanswered);
                Err(UiRefused::Canceled)
            }
        }
    }

    fn show_form(&self, about: Option<&ItemId>, form: Form) -> FormReply {
        let params = ShowFormParams {
            item: about.cloned(),
            form,
        };
        self.link
            .request(method::SHOW_FORM, &params)
            .unwrap_or_else(|unanswered| {
                self.complain(method::SHOW_FORM, unanswered);
                FormReply::Canceled
            })
    }

    fn release_ui(&self) {
        self.link.notify(method::RELEASE_UI, &NoParams {});
        self.link.flush();
    }

    fn establish_connection(&self, target: Option<&str>) -> Result<(), ConnectionError> {
        let params = EstablishConnectionParams {
            target: target.map(str::to_string),
        };
        let named = || target.unwrap_or("the network").to_string();
        match self
            .link
            .request::<EstablishConnectionResult>(method::ESTABLISH_CONNECTION, &params)
        {
            Ok(result) if result.connected => Ok(()),
            Ok(result) if result.canceled => Err(ConnectionError::Canceled { target: named() }),
            Ok(result) => Err(ConnectionError::Unreachable {
                target: named(),
                reason: result.reason.unwrap_or_default(),
            }),
            Err(_) => Err(ConnectionError::Canceled { target: named() }),
        }
    }

    fn replace_conflicts(&self, item: &ItemId, conflicts: Vec<ConflictReport>) {
        let params = ReplaceConflictsParams {
            item: item.clone(),
            conflicts,
        };
        self.link.notify(method::REPLACE_CONFLICTS, &params);
    }

    fn activity(&self, item: &ItemId, entry: Activity) {
        let params = ActivityParams {
            item: item.clone(),
            entries: vec![entry],
        };
        self.link.notify(method::ACTIVITY, &params);
    }

    fn chosen_resolutions(&self, item: &ItemId) -> Vec<(ConflictReport, Resolution)> {
        let params = ItemParams { item: item.clone() };
        match self
            .link
            .request::<ChosenResolutionsResult>(method::CHOSEN_RESOLUTIONS, &params)
        {
            Ok(result) => result
                .resolutions
                .into_iter()
                .map(|chosen| (chosen.conflict, chosen.resolution))
                .collect(),
            Err(unanswered) => {
                self.complain(method::CHOSEN_RESOLUTIONS, unanswered);
                Vec::new()
            }
        }
    }
}
