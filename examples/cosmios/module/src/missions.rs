//! Missions: cards run one after another on one machine. A completed card dispatches the
//! next with a summary of the cards before it; a failed card pauses the mission; resume
//! restarts from the first card not completed. Also the action items of cards.

use cosmictron_sdk::{Error, ReducerContext, reducer};

use crate::common::{not_found, own_machine, own_mission, text, wrong_state};
use crate::runs::{agent, create_run};
use crate::tables::*;
use crate::timeline::notify;

const CARDS_MAX: usize = 100;

/// Creates a mission in `draft`.
#[reducer]
pub fn create_mission(
    ctx: &ReducerContext,
    title: String,
    workspace: String,
) -> Result<Mission, Error> {
    ctx.db.missions().insert(Mission {
        id: 0,
        owner: ctx.sender,
        title: text("title", &title, 200)?,
        workspace: text("workspace", &workspace, 1_024)?,
        machine_id: None,
        status: "draft".to_owned(),
        created_at: ctx.timestamp,
    })
}

fn cards_in_order(ctx: &ReducerContext, mission: u64) -> Result<Vec<Card>, Error> {
    let mut cards = ctx.db.cards().filter_by_mission_id(&mission)?;
    cards.sort_by_key(|c| c.position);
    Ok(cards)
}

/// Adds a card at the end of the mission.
#[reducer]
pub fn add_card(
    ctx: &ReducerContext,
    mission: u64,
    instruction: String,
    agent: Option<String>,
) -> Result<Card, Error> {
    let m = own_mission(ctx, mission)?;
    if m.status == "completed" {
        return Err(wrong_state("mission", mission, &m.status, "add cards"));
    }
    let cards = cards_in_order(ctx, mission)?;
    if cards.len() >= CARDS_MAX {
        return Err(crate::common::invalid("mission", "at most 100 cards"));
    }
    ctx.db.cards().insert(Card {
        id: 0,
        mission_id: mission,
        owner: ctx.sender,
        position: u32::try_from(cards.len()).unwrap_or(u32::MAX),
        instruction: text("instruction", &instruction, 64 * 1024)?,
        agent: self::agent(agent)?,
        status: "pending".to_owned(),
        run_id: None,
        summary: None,
    })
}

/// The task of a card's run: the instruction, after what the earlier cards accomplished.
fn task_with_context(earlier: &[Card], card: &Card) -> String {
    if earlier.is_empty() {
        return card.instruction.clone();
    }
    let mut task = String::from("Context from previous cards:\n");
    for (i, c) in earlier.iter().enumerate() {
        let summary = c.summary.as_deref().unwrap_or("(no summary)");
        task.push_str(&format!("{}. {} — {}\n", i + 1, c.instruction, summary));
    }
    task.push_str(&format!("\nTask: {}", card.instruction));
    task
}

/// Dispatches the first card not completed; completes the mission when there is none.
fn dispatch_next(ctx: &ReducerContext, mut m: Mission) -> Result<Mission, Error> {
    let cards = cards_in_order(ctx, m.id)?;
    let Some(i) = cards.iter().position(|c| c.status != "completed") else {
        m.status = "completed".to_owned();
        notify(
            ctx,
            m.owner,
            format!("Mission completed: {}", m.title),
            format!("All {} cards of mission {} completed.", cards.len(), m.id),
        )?;
        return ctx.db.missions().update(m);
    };
    let Some(machine_id) = m.machine_id else {
        return Err(wrong_state(
            "mission",
            m.id,
            "without a machine",
            "dispatch",
        ));
    };
    let machine = ctx
        .db
        .machines()
        .find(&machine_id)?
        .ok_or_else(|| not_found("machine", machine_id))?;
    let mut card = cards[i].clone();
    let task = task_with_context(&cards[..i], &card);
    let run = create_run(
        ctx,
        &machine,
        card.agent.clone(),
        m.workspace.clone(),
        task,
        Some((m.id, card.id)),
    )?;
    card.status = "running".to_owned();
    card.run_id = Some(run.id);
    ctx.db.cards().update(card)?;
    m.status = "running".to_owned();
    ctx.db.missions().update(m)
}

/// Starts a mission on one of the caller's machines.
#[reducer]
pub fn play_mission(ctx: &ReducerContext, mission: u64, machine: u64) -> Result<Mission, Error> {
    let mut m = own_mission(ctx, mission)?;
    if m.status != "draft" {
        return Err(wrong_state("mission", mission, &m.status, "play"));
    }
    if cards_in_order(ctx, mission)?.is_empty() {
        return Err(wrong_state("mission", mission, "empty", "play"));
    }
    m.machine_id = Some(own_machine(ctx, machine)?.id);
    dispatch_next(ctx, m)
}

/// Pauses a running mission: its current card's run is cancelled and the card will run
/// again on resume.
#[reducer]
pub fn pause_mission(ctx: &ReducerContext, mission: u64) -> Result<Mission, Error> {
    let mut m = own_mission(ctx, mission)?;
    if m.status != "running" {
        return Err(wrong_state("mission", mission, &m.status, "pause"));
    }
    for mut card in cards_in_order(ctx, mission)? {
        if card.status != "running" {
            continue;
        }
        if let Some(run_id) = card.run_id
            && let Some(mut run) = ctx.db.runs().find(&run_id)?
            && matches!(run.status.as_str(), "pending" | "running")
        {
            run.status = "cancelled".to_owned();
            run.finished_at = Some(ctx.timestamp);
            ctx.db.runs().update(run)?;
        }
        card.status = "pending".to_owned();
        ctx.db.cards().update(card)?;
    }
    m.status = "paused".to_owned();
    ctx.db.missions().update(m)
}

/// Resumes a paused mission from its first card not completed (a failed card runs again).
#[reducer]
pub fn resume_mission(ctx: &ReducerContext, mission: u64) -> Result<Mission, Error> {
    let m = own_mission(ctx, mission)?;
    if m.status != "paused" {
        return Err(wrong_state("mission", mission, &m.status, "resume"));
    }
    dispatch_next(ctx, m)
}

/// The card of a mission run, if the mission still runs it.
fn running_card(ctx: &ReducerContext, run: &Run) -> Result<Option<(Mission, Card)>, Error> {
    let (Some(mission_id), Some(card_id)) = (run.mission_id, run.card_id) else {
        return Ok(None);
    };
    let (Some(m), Some(c)) = (
        ctx.db.missions().find(&mission_id)?,
        ctx.db.cards().find(&card_id)?,
    ) else {
        return Ok(None);
    };
    let current = m.status == "running" && c.status == "running" && c.run_id == Some(run.id);
    Ok(current.then_some((m, c)))
}

/// A mission's run completed: its card is done; the next card starts.
pub(crate) fn on_run_completed(ctx: &ReducerContext, run: &Run) -> Result<(), Error> {
    if let Some((m, mut card)) = running_card(ctx, run)? {
        card.status = "completed".to_owned();
        card.summary = run.summary.clone();
        ctx.db.cards().update(card)?;
        dispatch_next(ctx, m)?;
    }
    Ok(())
}

/// A mission's run failed: its card failed and the mission pauses; the owner is told.
pub(crate) fn on_run_failed(ctx: &ReducerContext, run: &Run) -> Result<(), Error> {
    if let Some((mut m, mut card)) = running_card(ctx, run)? {
        card.status = "failed".to_owned();
        ctx.db.cards().update(card.clone())?;
        m.status = "paused".to_owned();
        notify(
            ctx,
            m.owner,
            format!("Mission failed: {}", m.title),
            format!(
                "Card {} (\"{}\") failed: {}. The mission is paused; resume restarts the card.",
                card.position + 1,
                card.instruction,
                run.error.as_deref().unwrap_or("no error message")
            ),
        )?;
        ctx.db.missions().update(m)?;
    }
    Ok(())
}

/// A mission's run was cancelled by hand: the mission pauses, the card will run again.
pub(crate) fn on_run_cancelled(ctx: &ReducerContext, run: &Run) -> Result<(), Error> {
    if let Some((mut m, mut card)) = running_card(ctx, run)? {
        card.status = "pending".to_owned();
        ctx.db.cards().update(card)?;
        m.status = "paused".to_owned();
        ctx.db.missions().update(m)?;
    }
    Ok(())
}

/// Adds something a human must do, found while a card ran (by the card's owner or the
/// runner of the machine that ran it).
#[reducer]
pub fn add_action_item(ctx: &ReducerContext, card: u64, text: String) -> Result<ActionItem, Error> {
    let c = ctx
        .db
        .cards()
        .find(&card)?
        .ok_or_else(|| not_found("card", card))?;
    let by_runner = match c.run_id {
        Some(run) => crate::common::runner_run(ctx, run).is_ok(),
        None => false,
    };
    if c.owner != ctx.sender && !by_runner {
        return Err(not_found("card", card));
    }
    ctx.db.action_items().insert(ActionItem {
        id: 0,
        owner: c.owner,
        card_id: card,
        text: crate::common::text("text", &text, 2_000)?,
        done: false,
        created_at: ctx.timestamp,
    })
}

/// Ticks an action item off.
#[reducer]
pub fn complete_action_item(ctx: &ReducerContext, item: u64) -> Result<ActionItem, Error> {
    let mut i = match ctx.db.action_items().find(&item)? {
        Some(i) if i.owner == ctx.sender => i,
        _ => return Err(not_found("action item", item)),
    };
    i.done = true;
    ctx.db.action_items().update(i)
}
