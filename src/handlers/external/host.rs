//! The center's side of an external handler: a [`Handler`] that starts the manifest's
//! program, drives it over JSON-RPC and answers its callbacks through the engine's
//! [`Callback`]. Whatever the program does wrong (crash, hang, garbage, oversized messages,
//! ignoring a stop) ends in an error naming it, and its process is ended and reaped.

use crate::core::callback::{Callback, ConnectionError, Heard, LogLine, Progress, Reply, UiPermit};
use crate::core::dialog::{FormReply, UiRefused};
use crate::core::handler::{Handler, HandlerError, HandlerProvider, HandlerResult};
use crate::core::model::{
    Enumeration, HandlerId, HandlerInfo, ItemId, LogId, Participation, PropertiesOutcome,
    PropertiesTarget, RunContext, ShowErrorOutcome,
};
use crate::core::preview::ItemAnswer;
use crate::handlers::external::manifest::Manifest;
use crate::handlers::external::protocol::{
    ActivityParams, ChosenResolution, ChosenResolutionsResult, DecodeError, DeleteLogParams,
    EnumerateResult, EstablishConnectionParams, EstablishConnectionResult, FrameDecoder,
    HostCapabilities, InitializeParams, InitializeResult, ItemParams, ItemsParams, LogParams,
    LogResult, Message, NoParams, PROTOCOL_VERSION, PlannedItem, PreviewResult, ProgressParams,
    PropertiesParams, PropertiesResult, ReplaceConflictsParams, ReplyResult, ReportWorkParams,
    RequestId, RequestUiParams, RequestUiResult, RpcError, ShowErrorParams, ShowErrorResult,
    ShowFormParams, UiRefusal, code, method, write_notification, write_request, write_response,
};
use crate::process::{kill_group, spawn_named, spawn_tied};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, BufWriter, PipeReader, PipeWriter, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How often the adapter asks the engine for skips and stops while a call is in flight.
const POLL: Duration = Duration::from_millis(50);
/// How long the center waits for a program's last words (stderr, messages still in the pipe)
/// once it has exited or closed its output.
const EXIT_GRACE: Duration = Duration::from_millis(500);
/// Answers and notifications waiting to be written to a program's stdin. A program that
/// sends requests and never reads the answers fills its pipe and then this queue; it is
/// then ended, so the center's memory stays bounded.
const OUTGOING_FRAMES: usize = 4096;
/// How much of the handler's stderr is kept for error messages.
const STDERR_LINES: usize = 20;
const STDERR_LINE_BYTES: u64 = 400;
const READ_CHUNK: usize = 64 * 1024;
/// Decoded batches in flight between the reader thread and the caller; more blocks the
/// reader, which fills the pipe, which blocks the handler.
const BATCHES_IN_FLIGHT: usize = 64;

/// The provider made from one manifest: each `create` starts the program anew.
pub struct ExternalProvider {
    manifest: Arc<Manifest>,
}

impl ExternalProvider {
    pub fn new(manifest: Manifest) -> Arc<Self> {
        Arc::new(Self {
            manifest: Arc::new(manifest),
        })
    }
}

impl HandlerProvider for ExternalProvider {
    fn id(&self) -> HandlerId {
        HandlerId::new(self.manifest.id.clone())
    }

    fn display_name(&self) -> String {
        self.manifest.name.clone()
    }

    fn create(&self) -> HandlerResult<Box<dyn Handler>> {
        Ok(Box::new(ExternalHandler::start(self.manifest.clone())?))
    }

    fn stop_timeout(&self) -> Option<Duration> {
        Some(self.manifest.timeouts.stop)
    }

    fn concurrent_sessions(&self) -> bool {
        self.manifest.concurrent_sessions
    }
}

type Decoded = Result<Message, DecodeError>;

/// One running handler program, for one session or one dialog.
pub struct ExternalHandler {
    manifest: Arc<Manifest>,
    /// The program's file name, for messages.
    program: String,
    child: Child,
    reaped: bool,
    /// Frames for the writer thread; `None` closes the program's stdin.
    outgoing: Option<Sender<Vec<u8>>>,
    /// The program sent requests faster than it read the answers: the queue was full.
    choked: bool,
    /// Closed when the center is done with the program, so its I/O threads end even while
    /// a grandchild that left the process group keeps the pipes open.
    quit: Option<PipeWriter>,
    /// When the program was first seen to have exited while a call was in flight.
    exited_at: Option<Instant>,
    incoming: Receiver<Vec<Decoded>>,
    /// Messages received but not handled yet (they arrive in batches).
    backlog: VecDeque<Decoded>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Disconnects when the stderr reader has read everything.
    stderr_done: Receiver<()>,
    next_id: u64,
    info: HandlerInfo,
    cancel_notifications: bool,
    /// The program answers `preview` (its `initialize` said so).
    previews: bool,
    /// The items of the current prepare or synchronize, polled for skips and stops.
    run_items: Vec<ItemId>,
    /// Items whose skip or stop the program has been told.
    told: HashSet<ItemId>,
    stop_all_told: bool,
    items_changed: bool,
    warned: HashSet<String>,
    /// Why the program can no longer be used, once it cannot.
    ended: Option<String>,
}

/// What a call in flight can lend to the callbacks the program makes meanwhile.
struct CallContext<'c> {
    callback: &'c Callback,
    permit: Option<UiPermit<'c>>,
}

/// How a callback was answered.
enum Answer {
    /// `progress`, `report_work`, `check`: the user's answer about an item.
    Reply(ItemId, Reply),
    Value(Value),
    Nothing,
}

impl ExternalHandler {
    /// Starts the manifest's program with piped stdio, in its own process group, set to die
    /// with the center.
    pub fn start(manifest: Arc<Manifest>) -> HandlerResult<Self> {
        let mut command = Command::new(&manifest.program);
        command
            .args(&manifest.args)
            .current_dir(&manifest.working_dir)
            .envs(&manifest.env)
            .env("SYNCCENTER_PROTOCOL_VERSION", PROTOCOL_VERSION.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_tied(command).map_err(|e| {
            HandlerError::new(format!(
                "cannot start {} (from {}): {e}",
                manifest.program,
                manifest.path.display()
            ))
        })?;
        let program = manifest.program_name();
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (outgoing, to_write) = crossbeam_channel::bounded(OUTGOING_FRAMES);
        let (from_read, incoming) = crossbeam_channel::bounded(BATCHES_IN_FLIGHT);
        let (stderr_finished, stderr_done) = crossbeam_channel::bounded(0);
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let limit = manifest.max_message_bytes;
        let (quit_heard, quit) = std::io::pipe()
            .map_err(|e| HandlerError::new(format!("cannot start {}: {e}", manifest.program)))?;
        let quit_heard = Arc::new(quit_heard);
        let stdin = UntilQuit::new(stdin, &quit_heard);
        spawn_named(format!("{program}-write"), move || {
            write_frames(stdin, &to_write)
        });
        let stdout = UntilQuit::new(stdout, &quit_heard);
        spawn_named(format!("{program}-read"), move || {
            read_messages(stdout, limit, &from_read)
        });
        let stderr = UntilQuit::new(stderr, &quit_heard);
        let (kept, name) = (tail.clone(), program.clone());
        spawn_named(format!("{program}-stderr"), move || {
            keep_stderr(stderr, &kept, &name);
            drop(stderr_finished);
        });
        Ok(Self {
            info: HandlerInfo {
                name: manifest.name.clone(),
                icon: manifest.icon.clone(),
                has_properties: false,
            },
            manifest,
            program,
            child,
            reaped: false,
            outgoing: Some(outgoing),
            choked: false,
            quit: Some(quit),
            exited_at: None,
            incoming,
            backlog: VecDeque::new(),
            stderr: tail,
            stderr_done,
            next_id: 1,
            cancel_notifications: false,
            previews: false,
            run_items: Vec::new(),
            told: HashSet::new(),
            stop_all_told: false,
            items_changed: false,
            warned: HashSet::new(),
            ended: None,
        })
    }

    /// Sends a request and serves the program's callbacks until it answers, it fails, or a
    /// timeout ends it. With a callback the call is a long one (silence timeout) and skips
    /// and stops are forwarded; without, it must answer within the answer timeout.
    fn call<T: DeserializeOwned>(
        &mut self,
        name: &str,
        params: &impl Serialize,
        callback: Option<&Callback>,
    ) -> HandlerResult<T> {
        if let Some(reason) = &self.ended {
            return Err(HandlerError::new(reason.clone()));
        }
        let patience = match callback {
            Some(_) => self.manifest.timeouts.silence,
            None => self.manifest.timeouts.answer,
        };
        let mut context = callback.map(|callback| CallContext {
            callback,
            permit: None,
        });
        let id = self.next_id;
        self.next_id += 1;
        let mut frame = Vec::new();
        write_request(&mut frame, id, name, params).expect("requests serialize");
        self.send(frame);
        let mut heard = Instant::now();
        let mut polled = Instant::now();
        loop {
            let next = match self.backlog.pop_front() {
                Some(message) => Some(message),
                None => match self.incoming.recv_timeout(POLL) {
                    Ok(batch) => {
                        self.backlog.extend(batch);
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return Err(self.exited_before(name)),
                },
            };
            if let Some(message) = next {
                heard = Instant::now();
                match message {
                    Err(DecodeError::TooLarge { limit }) => {
                        return Err(self.end(format!(
                            "{} sent a message larger than {limit} bytes (max_message_bytes in {}); Sync Center ended it.",
                            self.program,
                            self.manifest.path.display()
                        )));
                    }
                    Err(error) => return Err(self.end(format!("{} sent {error}", self.program))),
                    Ok(Message::Response {
                        id: Some(RequestId::Number(answered)),
                        outcome,
                    }) if answered == id as i64 => return self.result(name, outcome),
                    Ok(Message::Response {
                        id: None,
                        outcome: Err(error),
                    }) => {
                        return Err(HandlerError::new(format!(
                            "{} could not read Sync Center's {name} request: {}",
                            self.program, error.message
                        )));
                    }
                    // An answer to a request given up on earlier.
                    Ok(Message::Response { .. }) => {}
                    Ok(Message::Request { id, method, params }) => {
                        self.serve(Some(id), &method, params, context.as_mut());
                        heard = Instant::now();
                    }
                    Ok(Message::Notification { method, params }) => {
                        self.serve(None, &method, params, context.as_mut());
                    }
                }
                if self.choked {
                    return Err(self.end(format!(
                        "{} sent requests faster than it read the answers ({OUTGOING_FRAMES} answers were waiting for it); Sync Center ended it.",
                        self.program
                    )));
                }
            } else if self.program_gone_quietly() {
                // Its output is still open (a grandchild that left the process group holds
                // it), so the end of the pipe will never come.
                return Err(self.exited_before(name));
            }
            let now = Instant::now();
            if let Some(callback) = callback
                && now.duration_since(polled) >= POLL
            {
                polled = now;
                self.forward_user_requests(callback);
            }
            // The engine gave up on the program for ignoring a stop (the manifest's stop
            // timeout): it must be gone before its items can run again.
            if callback.is_some_and(|callback| callback.relay().abandoned()) {
                return Err(self.end(format!(
                    "{} did not stop within {} s after Stop; Sync Center ended it.",
                    self.program,
                    self.manifest.timeouts.stop.as_secs_f32()
                )));
            }
            if now.duration_since(heard) >= patience {
                let seconds = patience.as_secs_f32();
                return Err(self.end(match callback {
                    Some(_) => format!(
                        "{} sent nothing for {seconds} s while working on {name}; Sync Center ended it.",
                        self.program
                    ),
                    None => format!(
                        "{} did not answer {name} within {seconds} s; Sync Center ended it.",
                        self.program
                    ),
                }));
            }
        }
    }

    fn result<T: DeserializeOwned>(
        &self,
        name: &str,
        outcome: Result<Value, RpcError>,
    ) -> HandlerResult<T> {
        match outcome {
            Ok(value) => serde_json::from_value(value).map_err(|e| {
                HandlerError::new(format!(
                    "{} answered {name} with something Sync Center does not understand: {e}",
                    self.program
                ))
            }),
            Err(error) => Err(HandlerError::new(error.message)),
        }
    }

    /// Answers one request or notification from the program.
    fn serve(
        &mut self,
        id: Option<RequestId>,
        name: &str,
        params: Value,
        context: Option<&mut CallContext<'_>>,
    ) {
        let callback = context.as_ref().map(|c| c.callback);
        let heard = if id.is_some() {
            Heard::Answered
        } else {
            Heard::Unanswered
        };
        let answer = match context {
            Some(context) => self.answer(name, params, context, heard),
            None if name == method::ITEMS_CHANGED => {
                self.items_changed = true;
                Ok(Answer::Nothing)
            }
            None => Err(RpcError::new(
                code::NO_RUN,
                format!(
                    "`{name}` can only be used while Sync Center waits for prepare, synchronize, properties, show_error or preview"
                ),
            )),
        };
        match (id, answer, callback) {
            (Some(id), Ok(Answer::Reply(item, reply)), Some(callback)) => {
                self.respond(
                    &id,
                    Ok(&ReplyResult {
                        reply: reply.into(),
                    }),
                );
                self.note_delivered(&item, reply, true, callback);
            }
            (None, Ok(Answer::Reply(item, reply)), Some(callback)) => {
                self.note_delivered(&item, reply, false, callback);
            }
            (Some(id), Ok(Answer::Value(value)), _) => self.respond(&id, Ok(&value)),
            (Some(id), Ok(Answer::Nothing | Answer::Reply(..)), _) => {
                self.respond(&id, Ok(&Value::Null))
            }
            (None, Ok(_), _) => {}
            (Some(id), Err(error), _) => self.respond::<Value>(&id, Err(&error)),
            (None, Err(error), _) => {
                if let Some(callback) = callback
                    && self.warned.insert(name.to_string())
                {
                    callback.log(LogLine::warning(format!(
                        "{} sent a `{name}` notification that Sync Center could not use: {error}",
                        self.program
                    )));
                }
            }
        }
    }

    fn answer(
        &mut self,
        name: &str,
        params: Value,
        context: &mut CallContext<'_>,
        heard: Heard,
    ) -> Result<Answer, RpcError> {
        let callback = context.callback;
        Ok(match name {
            method::PROGRESS => {
                let p: ProgressParams<'static> = parse(params)?;
                let progress = Progress {
                    text: p.text.as_deref(),
                    status: p.status,
                    value: p.value,
                    max: p.max,
                    figures: p.figures.as_deref(),
                };
                let reply = match heard {
                    Heard::Answered => callback.progress(&p.item, progress),
                    Heard::Unanswered => callback.relay().progress(&p.item, progress),
                };
                Answer::Reply(p.item.into_owned(), reply)
            }
            method::REPORT_WORK => {
                let p: ReportWorkParams<'static> = parse(params)?;
                let reply = match heard {
                    Heard::Answered => callback.report_work(&p.item, p.report),
                    Heard::Unanswered => callback.relay().report_work(&p.item, p.report),
                };
                Answer::Reply(p.item.into_owned(), reply)
            }
            method::CHECK => {
                let p: ItemParams = parse(params)?;
                let reply = callback.check(&p.item);
                Answer::Reply(p.item, reply)
            }
            method::LOG => {
                let p: LogParams = parse(params)?;
                let log_id = callback.log(LogLine {
                    level: p.level,
                    text: p.text,
                    item: p.item,
                    actionable: p.actionable,
                });
                to_value(LogResult { log_id })
            }
            method::DELETE_LOG => {
                let p: DeleteLogParams = parse(params)?;
                let target = p
                    .target()
                    .map_err(|problem| RpcError::new(code::INVALID_PARAMS, problem))?;
                callback.delete_log(target);
                Answer::Nothing
            }
            method::REQUEST_UI => {
                let p: RequestUiParams = parse_or_default(params)?;
                let result = if context.permit.is_some() {
                    granted()
                } else {
                    match callback.request_ui(p.item.as_ref()) {
                        Ok(permit) => {
                            context.permit = Some(permit);
                            granted()
                        }
                        Err(refused) => RequestUiResult {
                            granted: false,
                            reason: Some(match refused {
                                UiRefused::NotAllowed => UiRefusal::NotAllowed,
                                UiRefused::Canceled => UiRefusal::Canceled,
                            }),
                            message: Some(refused.to_string()),
                        },
                    }
                };
                to_value(result)
            }
            method::SHOW_FORM => {
                let p: ShowFormParams = parse(params)?;
                // A form shown without `request_ui` asks for the UI slot just for itself.
                let reply = match &context.permit {
                    Some(permit) => permit.show(p.form),
                    None => match callback.request_ui(p.item.as_ref()) {
                        Ok(permit) => permit.show(p.form),
                        Err(_) => FormReply::Canceled,
                    },
                };
                to_value(reply)
            }
            method::RELEASE_UI => {
                context.permit = None;
                Answer::Nothing
            }
            method::ESTABLISH_CONNECTION => {
                let p: EstablishConnectionParams = parse_or_default(params)?;
                let result = match callback.establish_connection(p.target.as_deref()) {
                    Ok(()) => EstablishConnectionResult {
                        connected: true,
                        canceled: false,
                        reason: None,
                    },
                    Err(ConnectionError::Canceled { .. }) => EstablishConnectionResult {
                        connected: false,
                        canceled: true,
                        reason: None,
                    },
                    Err(ConnectionError::Unreachable { reason, .. }) => EstablishConnectionResult {
                        connected: false,
                        canceled: false,
                        reason: Some(reason),
                    },
                };
                to_value(result)
            }
            method::ACTIVITY => {
                let p: ActivityParams = parse(params)?;
                for entry in p.entries {
                    callback.activity(&p.item, entry);
                }
                Answer::Nothing
            }
            method::REPLACE_CONFLICTS => {
                let p: ReplaceConflictsParams = parse(params)?;
                callback.replace_conflicts(&p.item, p.conflicts);
                Answer::Nothing
            }
            method::CHOSEN_RESOLUTIONS => {
                let p: ItemParams = parse(params)?;
                let resolutions = callback
                    .chosen_resolutions(&p.item)
                    .into_iter()
                    .map(|(conflict, resolution)| ChosenResolution {
                        conflict,
                        resolution,
                    })
                    .collect();
                to_value(ChosenResolutionsResult { resolutions })
            }
            method::ITEMS_CHANGED => {
                self.items_changed = true;
                Answer::Nothing
            }
            _ => {
                return Err(RpcError::new(
                    code::METHOD_NOT_FOUND,
                    format!("Sync Center has no method `{name}`"),
                ));
            }
        })
    }

    /// Looks at the user's requests for every item of the call and tells the program of new
    /// skips and stops. Looking tells the program nothing by itself, and an item another
    /// run took over is none of this program's business any more.
    fn forward_user_requests(&mut self, callback: &Callback) {
        for index in 0..self.run_items.len() {
            let item = self.run_items[index].clone();
            let reply = callback.relay().peek(&item);
            self.note_delivered(&item, reply, false, callback);
            if reply == Reply::CancelAll {
                break;
            }
        }
    }

    /// Records that the user's answer reached the program: in a reply (`in_reply`), or by a
    /// notification sent now, which the engine then counts as told.
    fn note_delivered(&mut self, item: &ItemId, reply: Reply, in_reply: bool, callback: &Callback) {
        let (name, about) = match reply {
            Reply::Continue => return,
            Reply::CancelAll => {
                if self.stop_all_told {
                    return;
                }
                self.stop_all_told = true;
                (method::STOP_ALL, None)
            }
            Reply::SkipItem | Reply::CancelItem => {
                if !self.told.insert(item.clone()) {
                    return;
                }
                let name = if reply == Reply::SkipItem {
                    method::SKIP_ITEM
                } else {
                    method::STOP_ITEM
                };
                (name, Some(item))
            }
        };
        if in_reply || !self.cancel_notifications {
            return;
        }
        let mut frame = Vec::new();
        let written = match about {
            Some(item) => write_notification(&mut frame, name, &ItemParams { item: item.clone() }),
            None => write_notification(&mut frame, name, &NoParams {}),
        };
        written.expect("notifications serialize");
        self.send(frame);
        callback.relay().told(item, reply);
    }

    fn respond<T: Serialize>(&mut self, id: &RequestId, outcome: Result<&T, &RpcError>) {
        let mut frame = Vec::new();
        write_response(&mut frame, id, outcome).expect("responses serialize");
        self.send(frame);
    }

    /// Queues a frame for the program without ever waiting: a full queue marks the program
    /// as choked, and the call in flight ends it.
    fn send(&mut self, frame: Vec<u8>) {
        if let Some(outgoing) = &self.outgoing {
            match outgoing.try_send(frame) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => self.choked = true,
                // A writer that has gone means the program has gone; the read side reports it.
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }

    /// Whether the program has exited, with nothing more arriving from it for a moment.
    fn program_gone_quietly(&mut self) -> bool {
        if self.exited_at.is_none() && self.leader_exited_within(Duration::ZERO) {
            self.exited_at = Some(Instant::now());
        }
        self.exited_at
            .is_some_and(|at| at.elapsed() >= EXIT_GRACE && self.incoming.is_empty())
    }

    /// The program closed its output before answering: say how it ended, with its last
    /// words on stderr.
    fn exited_before(&mut self, name: &str) -> HandlerError {
        let exited = self.leader_exited_within(EXIT_GRACE);
        let status = self.reap();
        let _ = self.stderr_done.recv_timeout(EXIT_GRACE);
        let how = match status {
            Some(status) if exited => describe_exit(status),
            _ => "closed its output".to_string(),
        };
        let mut text = format!("{} {how} before answering {name}", self.program);
        match self.last_stderr_line() {
            Some(line) => text.push_str(&format!("; its last stderr line was: {line}")),
            None => text.push('.'),
        }
        self.end(text)
    }

    /// Ends the program for good and remembers why; later calls fail with the same words.
    fn end(&mut self, reason: String) -> HandlerError {
        self.reap();
        self.ended = Some(reason.clone());
        HandlerError::new(reason)
    }

    /// Kills the program's whole process group and waits for the program, once; then lets
    /// its I/O threads go once they have read what is left in the pipes.
    fn reap(&mut self) -> Option<ExitStatus> {
        if !self.reaped {
            self.reaped = true;
            // The leader is not reaped yet, so its id still names this group.
            kill_group(&self.child);
        }
        let status = self.child.wait().ok();
        self.quit = None;
        status
    }

    /// Waits until the program has exited, without reaping it (so its process group can
    /// still be killed by id).
    fn leader_exited_within(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        loop {
            // SAFETY: siginfo_t is plain data; waitid only writes into it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let found = unsafe {
                libc::waitid(
                    libc::P_PID,
                    self.child.id() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            // SAFETY: waitid filled si_pid (0 when the child has not exited yet).
            if found != 0 || unsafe { info.si_pid() } != 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn last_stderr_line(&self) -> Option<String> {
        self.stderr.lock().back().cloned()
    }
}

impl Handler for ExternalHandler {
    fn initialize(&mut self, run: &RunContext) -> HandlerResult<Participation> {
        let params = InitializeParams {
            protocol_version: PROTOCOL_VERSION,
            reason: run.reason.clone(),
            may_bother_user: run.may_bother_user,
            capabilities: HostCapabilities {
                progress_notifications: true,
                cancel_notifications: true,
                max_message_bytes: self.manifest.max_message_bytes,
            },
        };
        let answer: InitializeResult = self.call(method::INITIALIZE, &params, None)?;
        if answer.protocol_version != PROTOCOL_VERSION {
            return Err(self.end(format!(
                "{} speaks protocol version {}, and this Sync Center speaks version {PROTOCOL_VERSION}.",
                self.program, answer.protocol_version
            )));
        }
        self.cancel_notifications = answer.capabilities.cancel_notifications;
        self.previews = answer.capabilities.preview;
        if !answer.participate {
            return Ok(Participation::NotTakingPart);
        }
        self.info = self.call(method::INFO, &NoParams {}, None)?;
        Ok(Participation::TakesPart)
    }

    fn info(&self) -> HandlerInfo {
        self.info.clone()
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        let listed: EnumerateResult = self.call(method::ENUMERATE, &NoParams {}, None)?;
        Ok(Enumeration {
            items: listed.items,
            some_missing: listed.some_missing,
        })
    }

    fn show_properties(
        &mut self,
        target: &PropertiesTarget,
        callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        let item = match target {
            PropertiesTarget::Handler => None,
            PropertiesTarget::Item(item) => Some(item.clone()),
        };
        self.run_items = item.iter().cloned().collect();
        self.items_changed = false;
        let result: PropertiesResult = self.call(
            method::PROPERTIES,
            &PropertiesParams { item },
            Some(callback),
        )?;
        Ok(if result.item_deleted {
            PropertiesOutcome::ItemDeleted
        } else if result.items_changed || self.items_changed {
            PropertiesOutcome::ItemsChanged
        } else {
            PropertiesOutcome::Unchanged
        })
    }

    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        self.run_items = items.to_vec();
        let params = ItemsParams {
            items: items.to_vec(),
        };
        let _: IgnoredAny = self.call(method::PREPARE, &params, Some(callback))?;
        Ok(())
    }

    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        self.run_items = items.to_vec();
        let params = ItemsParams {
            items: items.to_vec(),
        };
        let _: IgnoredAny = self.call(method::SYNCHRONIZE, &params, Some(callback))?;
        Ok(())
    }

    fn preview(
        &mut self,
        items: &[ItemId],
        callback: &Callback,
    ) -> HandlerResult<Option<Vec<ItemAnswer>>> {
        if !self.previews {
            return Ok(None);
        }
        self.run_items = items.to_vec();
        let params = ItemsParams {
            items: items.to_vec(),
        };
        let result: PreviewResult = self.call(method::PREVIEW, &params, Some(callback))?;
        Ok(result
            .items
            .map(|planned| planned.into_iter().map(PlannedItem::into_answer).collect()))
    }

    fn show_error(&mut self, error: LogId, callback: &Callback) -> HandlerResult<ShowErrorOutcome> {
        self.run_items.clear();
        let result: ShowErrorResult = self.call(
            method::SHOW_ERROR,
            &ShowErrorParams { log_id: error },
            Some(callback),
        )?;
        Ok(if result.retry.is_empty() {
            ShowErrorOutcome::Done
        } else {
            ShowErrorOutcome::Retry(result.retry)
        })
    }
}

impl Drop for ExternalHandler {
    /// Asks the program to shut down, closes its stdin, gives it a moment, then kills
    /// whatever is left of its process group and reaps it: no zombies, no orphans.
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        if self.ended.is_none() {
            let mut frame = Vec::new();
            write_request(&mut frame, self.next_id, method::SHUTDOWN, &NoParams {})
                .expect("requests serialize");
            self.send(frame);
        }
        self.outgoing = None;
        self.leader_exited_within(self.manifest.timeouts.shutdown);
        self.reap();
    }
}

fn granted() -> RequestUiResult {
    RequestUiResult {
        granted: true,
        reason: None,
        message: None,
    }
}

fn to_value(value: impl Serialize) -> Answer {
    Answer::Value(serde_json::to_value(value).expect("results serialize"))
}

fn parse<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| RpcError::new(code::INVALID_PARAMS, format!("bad parameters: {e}")))
}

/// Parameters that may be left out entirely.
fn parse_or_default<T: DeserializeOwned + Default>(params: Value) -> Result<T, RpcError> {
    match params {
        Value::Null => Ok(T::default()),
        params => parse(params),
    }
}

fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited (code {code})"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "exited".to_string(),
    }
}

/// A pipe to or from a program whose reads and writes give up once the center is done with
/// the program (its quit pipe closed): a reader that finds nothing more to read sees the
/// end, a writer that cannot write any more sees a broken pipe. Without it, a grandchild
/// that left the process group and kept the pipes open would hold these threads forever.
struct UntilQuit<T> {
    pipe: T,
    quit: Arc<PipeReader>,
}

impl<T: AsRawFd> UntilQuit<T> {
    fn new(pipe: T, quit: &Arc<PipeReader>) -> Self {
        Self {
            pipe,
            quit: quit.clone(),
        }
    }

    /// Waits until the pipe is ready for `events`; false when the center is done with the
    /// program and the pipe is not ready.
    fn ready(&self, events: libc::c_short) -> bool {
        let mut fds = [
            libc::pollfd {
                fd: self.pipe.as_raw_fd(),
                events,
                revents: 0,
            },
            libc::pollfd {
                fd: self.quit.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        loop {
            // SAFETY: two valid pollfds, no timeout.
            let found = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if found < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // Let the read or write itself report the problem.
                return true;
            }
            // What is already in the pipe is still read after the quit: the last words.
            if fds[0].revents != 0 {
                return true;
            }
            if fds[1].revents != 0 {
                return false;
            }
        }
    }
}

impl<T: Read + AsRawFd> Read for UntilQuit<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.ready(libc::POLLIN) {
            return Ok(0);
        }
        self.pipe.read(buf)
    }
}

impl<T: Write + AsRawFd> Write for UntilQuit<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match self.pipe.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !self.ready(libc::POLLOUT) {
                        return Err(std::io::ErrorKind::BrokenPipe.into());
                    }
                }
                done => return done,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.pipe.flush()
    }
}

/// Makes writes to `fd` fail with WouldBlock instead of waiting, so that the writer waits
/// in `UntilQuit::ready` where the quit pipe can end the wait.
fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor this process owns; only the status flags change.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// Writes frames to the program's stdin, flushing whenever no more are waiting.
fn write_frames(stdin: UntilQuit<ChildStdin>, frames: &Receiver<Vec<u8>>) {
    // This thread never takes SIGPIPE, whatever the process's disposition (a program
    // embedding the center may have restored the default, which ends the process): a
    // program that has gone is a failed write here, and its read side reports it.
    block_sigpipe_in_this_thread();
    set_nonblocking(stdin.pipe.as_raw_fd());
    let mut out = BufWriter::new(stdin);
    while let Ok(frame) = frames.recv() {
        if out.write_all(&frame).is_err() {
            return;
        }
        while let Ok(frame) = frames.try_recv() {
            if out.write_all(&frame).is_err() {
                return;
            }
        }
        if out.flush().is_err() {
            return;
        }
    }
}

fn block_sigpipe_in_this_thread() {
    // SAFETY: the set is initialized by sigemptyset before use; only this thread's mask
    // changes.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Decodes the program's stdout in batches until it closes.
fn read_messages(mut stdout: UntilQuit<ChildStdout>, limit: usize, batches: &Sender<Vec<Decoded>>) {
    let mut decoder = FrameDecoder::new(limit);
    let mut buffer = vec![0u8; READ_CHUNK];
    loop {
        let read = match stdout.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut batch = Vec::new();
        decoder.feed(&buffer[..read], &mut |m| batch.push(m));
        if !batch.is_empty() && batches.send(batch).is_err() {
            return;
        }
    }
    let mut batch = Vec::new();
    decoder.finish(&mut |m| batch.push(m));
    if !batch.is_empty() {
        let _ = batches.send(batch);
    }
}

/// Keeps the last lines of the program's stderr, and passes them on to the log.
fn keep_stderr(stderr: UntilQuit<ChildStderr>, tail: &Mutex<VecDeque<String>>, program: &str) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(STDERR_LINE_BYTES)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if text.is_empty() {
            continue;
        }
        tracing::debug!(handler = program, "stderr: {text}");
        let mut tail = tail.lock();
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
    }
}
