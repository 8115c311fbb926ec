//! Which items a run is for, chosen from what the handlers listed: items named by id or
//! `HANDLER/ID`, every item of one handler, every item, or the checked ones. The terminal's
//! own runs and the running instance choose alike and say alike what cannot be chosen.
//! Pure, apart from [`listed`], which gathers the listings and the user's checkmarks.

use crate::core::engine::Listing;
use crate::core::model::{HandlerId, ItemKey};
use crate::core::store::Store;

/// Which items a run is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Items by id or `HANDLER/ID`, as the command line names them.
    Named(Vec<String>),
    /// Every item of one handler (`UpdateItems` with a handler's CLSID).
    Handler(String),
    /// Every item of every handler (`UpdateAll`).
    All,
    /// The items the user checked.
    Checked,
    /// Items already chosen (a schedule's, a trigger's).
    Keys(Vec<ItemKey>),
}

impl Target {
    /// Whether choosing needs the handlers' listings (everything but [`Target::Keys`]).
    pub fn needs_listing(&self) -> bool {
        !matches!(self, Target::Keys(_))
    }

    /// Whether every handler's items count, so a handler that could not list its items
    /// leaves some out (a failure), rather than one item that is simply not there.
    pub fn covers_every_handler(&self) -> bool {
        matches!(self, Target::All | Target::Checked)
    }
}

/// One handler's answer to a listing: its items with whether each is checked, or why it
/// could not list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub handler: HandlerId,
    pub name: String,
    pub items: Vec<(ItemKey, bool)>,
    pub error: Option<String>,
}

/// Why no items could be chosen, in words for whoever asked.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChoiceError {
    #[error("there is no item \"{0}\"; `synccenter items` lists the items")]
    NoSuchItem(String),
    #[error("\"{name}\" names several items ({}); write HANDLER/ID", joined(.keys))]
    Ambiguous { name: String, keys: Vec<ItemKey> },
    #[error("there is no handler \"{0}\"; `synccenter handlers` lists the handlers")]
    NoSuchHandler(String),
    #[error("{name} could not list its items: {error}")]
    Unlisted { name: String, error: String },
    #[error(
        "no items are checked; name the items to sync, use --all, or check some with `synccenter check ITEM`"
    )]
    NoneChecked,
    #[error("there are no items to sync; `synccenter items` lists the items")]
    NoItems,
}

fn joined(keys: &[ItemKey]) -> String {
    keys.iter()
        .map(ItemKey::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The listings as the choice needs them: each item with the user's checkmark.
pub fn listed(listings: &[Listing], store: &Store) -> Vec<Listed> {
    listings
        .iter()
        .map(|listing| Listed {
            handler: listing.handler.clone(),
            name: listing.info.name.clone(),
            items: listing
                .items
                .iter()
                .map(|item| {
                    let key = ItemKey {
                        handler: listing.handler.clone(),
                        item: item.id.clone(),
                    };
                    let checked = store.is_checked(&key, item.checked_by_default);
                    (key, checked)
                })
                .collect(),
            error: listing.error.clone(),
        })
        .collect()
}

/// The items a target stands for.
pub fn choose(target: &Target, listed: &[Listed]) -> Result<Vec<ItemKey>, ChoiceError> {
    let every = || listed.iter().flat_map(|l| l.items.iter());
    let keys: Vec<ItemKey> = match target {
        Target::Keys(keys) => keys.clone(),
        Target::Named(names) => resolve_names(names, listed)?,
        Target::All => every().map(|(key, _)| key.clone()).collect(),
        Target::Checked => {
            let checked: Vec<ItemKey> = every()
                .filter(|(_, checked)| *checked)
                .map(|(key, _)| key.clone())
                .collect();
            if checked.is_empty() && every().next().is_some() {
                return Err(ChoiceError::NoneChecked);
            }
            checked
        }
        Target::Handler(handler) => {
            let found = listed
                .iter()
                .find(|l| l.handler.as_str() == handler)
                .ok_or_else(|| ChoiceError::NoSuchHandler(handler.clone()))?;
            if let Some(error) = &found.error {
                return Err(ChoiceError::Unlisted {
                    name: found.name.clone(),
                    error: error.clone(),
                });
            }
            found.items.iter().map(|(key, _)| key.clone()).collect()
        }
    };
    if keys.is_empty() {
        return Err(ChoiceError::NoItems);
    }
    Ok(keys)
}

/// Finds items by id (`ID`) or by handler and id (`HANDLER/ID`).
pub fn resolve_names(names: &[String], listed: &[Listed]) -> Result<Vec<ItemKey>, ChoiceError> {
    let all: Vec<&ItemKey> = listed
        .iter()
        .flat_map(|l| l.items.iter().map(|(key, _)| key))
        .collect();
    names
        .iter()
        .map(|name| {
            let matches: Vec<&ItemKey> = all
                .iter()
                .copied()
                .filter(|k| k.item.as_str() == name || k.to_string() == *name)
                .collect();
            match matches.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(ChoiceError::NoSuchItem(name.clone())),
                many => Err(ChoiceError::Ambiguous {
                    name: name.clone(),
                    keys: many.iter().map(|k| (*k).clone()).collect(),
                }),
            }
        })
        .collect()
}

/// The handlers that could not list their items: (name, why).
pub fn unlisted(listed: &[Listed]) -> Vec<(String, String)> {
    listed
        .iter()
        .filter_map(|l| Some((l.name.clone(), l.error.clone()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(handler: &str, item: &str) -> ItemKey {
        ItemKey::new(handler, item)
    }

    /// Mail lists "inbox" (checked) and "docs"; folders lists "docs" (checked) and
    /// "photos"; broken could not list; empty lists nothing.
    fn world() -> Vec<Listed> {
        let listed = |handler: &str, items: &[(&str, bool)]| Listed {
            handler: HandlerId::new(handler),
            name: handler.to_uppercase(),
            items: items
                .iter()
                .map(|(item, checked)| (key(handler, item), *checked))
                .collect(),
            error: None,
        };
        vec![
            listed("mail", &[("inbox", true), ("docs", false)]),
            listed("folders", &[("docs", true), ("photos", false)]),
            Listed {
                error: Some("no account".into()),
                ..listed("broken", &[])
            },
            listed("empty", &[]),
        ]
    }

    fn names(list: &[&str]) -> Target {
        Target::Named(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn every_kind_of_target_and_every_way_it_cannot_be_chosen() {
        let world = world();
        let cases: Vec<(Target, Result<Vec<ItemKey>, ChoiceError>)> = vec![
            (names(&["inbox"]), Ok(vec![key("mail", "inbox")])),
            (names(&["folders/docs"]), Ok(vec![key("folders", "docs")])),
            (
                names(&["photos", "mail/docs"]),
                Ok(vec![key("folders", "photos"), key("mail", "docs")]),
            ),
            (
                names(&["docs"]),
                Err(ChoiceError::Ambiguous {
                    name: "docs".into(),
                    keys: vec![key("mail", "docs"), key("folders", "docs")],
                }),
            ),
            (
                names(&["inbox", "nope"]),
                Err(ChoiceError::NoSuchItem("nope".into())),
            ),
            (
                names(&["mail/photos"]),
                Err(ChoiceError::NoSuchItem("mail/photos".into())),
            ),
            (names(&[]), Err(ChoiceError::NoItems)),
            (
                Target::Handler("folders".into()),
                Ok(vec![key("folders", "docs"), key("folders", "photos")]),
            ),
            (
                Target::Handler("nope".into()),
                Err(ChoiceError::NoSuchHandler("nope".into())),
            ),
            (
                Target::Handler("broken".into()),
                Err(ChoiceError::Unlisted {
                    name: "BROKEN".into(),
                    error: "no account".into(),
                }),
            ),
            (Target::Handler("empty".into()), Err(ChoiceError::NoItems)),
            (
                Target::All,
                Ok(vec![
                    key("mail", "inbox"),
                    key("mail", "docs"),
                    key("folders", "docs"),
                    key("folders", "photos"),
                ]),
            ),
            (
                Target::Checked,
                Ok(vec![key("mail", "inbox"), key("folders", "docs")]),
            ),
            (Target::Keys(vec![key("x", "y")]), Ok(vec![key("x", "y")])),
            (Target::Keys(vec![]), Err(ChoiceError::NoItems)),
        ];
        for (target, expected) in cases {
            assert_eq!(choose(&target, &world), expected, "{target:?}");
        }
        // Nothing checked, or nothing at all.
        let unchecked: Vec<Listed> = world
            .iter()
            .cloned()
            .map(|mut l| {
                l.items.iter_mut().for_each(|(_, checked)| *checked = false);
                l
            })
            .collect();
        assert_eq!(
            choose(&Target::Checked, &unchecked),
            Err(ChoiceError::NoneChecked)
        );
        assert_eq!(choose(&Target::Checked, &[]), Err(ChoiceError::NoItems));
        assert_eq!(choose(&Target::All, &[]), Err(ChoiceError::NoItems));
    }

    #[test]
    fn what_cannot_be_chosen_is_said_in_words() {
        let ambiguous = ChoiceError::Ambiguous {
            name: "docs".into(),
            keys: vec![key("mail", "docs"), key("folders", "docs")],
        };
        assert_eq!(
            ambiguous.to_string(),
            "\"docs\" names several items (mail/docs, folders/docs); write HANDLER/ID"
        );
        assert_eq!(
            ChoiceError::NoSuchItem("x".into()).to_string(),
            "there is no item \"x\"; `synccenter items` lists the items"
        );
        assert_eq!(
            unlisted(&world()),
            vec![("BROKEN".to_string(), "no account".to_string())]
        );
        for (target, every) in [
            (Target::All, true),
            (Target::Checked, true),
            (names(&["a"]), false),
            (Target::Handler("h".into()), false),
            (Target::Keys(vec![]), false),
        ] {
            assert_eq!(target.covers_every_handler(), every, "{target:?}");
            assert_eq!(
                target.needs_listing(),
                !matches!(target, Target::Keys(_)),
                "{target:?}"
            );
        }
    }
}
