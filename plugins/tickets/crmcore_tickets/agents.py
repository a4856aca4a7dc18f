"""Agents and teams, and the choice of an assignee within a team (round-robin or least-loaded)."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import Conflict, NotFound, ValidationError

from .models import ASSIGNMENT, UNSOLVED, Agent, Team, Ticket


def _name(value: str, what: str, limit: int = 100) -> str:
    text = " ".join((value or "").split())
    if not text or len(text) > limit:
        raise ValidationError(
            f"a {what} of 1–{limit} characters is required", field=what.replace(" ", "_")
        )
    return text


def add_team(uow, name: str, *, assignment: str = "round_robin") -> Team:
    name = _name(name, "team name")
    if assignment not in ASSIGNMENT:
        raise ValidationError(
            f"{assignment!r} is not an assignment rule ({', '.join(ASSIGNMENT)})",
            field="assignment",
        )
    if uow.session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(f"a team named {name!r} exists already", field="name")
    team = Team(name=name, assignment=assignment)
    uow.session.add(team)
    uow.session.flush()
    uow.audit("create", "tickets_team", team.id, {"name": name, "assignment": assignment})
    return team


def get_team(session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == (name or "").strip()))
    if team is None:
        known = session.scalars(select(Team.name).order_by(Team.name)).all()
        raise NotFound(
            f"no team named {name!r} (known: {', '.join(known) or 'none yet'})", field="team"
        )
    return team


def add_agent(uow, username: str, *, name: str | None = None, team: str | None = None) -> Agent:
    username = _name(username, "username")
    if uow.session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise Conflict(f"an agent with username {username!r} exists already", field="username")
    team_row = get_team(uow.session, team) if team else None
    agent = Agent(
        username=username,
        display_name=_name(name or username, "name", 200),
        team_id=team_row.id if team_row else None,
        active=True,
    )
    uow.session.add(agent)
    uow.session.flush()
    uow.audit("create", "tickets_agent", agent.id, {"username": username, "team": team})
    return agent


def set_agent(uow, username: str, *, team: str | None = None, active: bool | None = None) -> Agent:
    agent = get_agent(uow.session, username, active_only=False)
    changes = {}
    if team is not None:
        new_team = get_team(uow.session, team) if team else None
        changes["team"] = [
            agent.team.name if agent.team else None,
            new_team.name if new_team else None,
        ]
        agent.team_id = new_team.id if new_team else None
    if active is not None:
        changes["active"] = [agent.active, active]
        agent.active = active
    uow.audit("update", "tickets_agent", agent.id, changes)
    return agent


def get_agent(session, username: str, *, active_only: bool = True) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.username == (username or "").strip()))
    if agent is None:
        known = session.scalars(
            select(Agent.username).where(Agent.active.is_(True)).order_by(Agent.username)
        ).all()
        raise NotFound(
            f"no agent named {username!r} (known: {', '.join(known) or 'none yet'}; "
            f"add one with: crm tickets agent add {username})",
            field="agent",
        )
    if active_only and not agent.active:
        raise Conflict(f"agent {agent.username!r} is inactive", field="agent")
    return agent


def open_load(session, agent_ids: list[int]) -> dict[int, int]:
    """Unsolved tickets (new, open, pending on the customer) per agent."""
    rows = session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(agent_ids), Ticket.state.in_(UNSOLVED))
        .group_by(Ticket.assignee_id)
    )
    load = {a: 0 for a in agent_ids}
    load.update({a: n for a, n in rows})
    return load


def pick_agent(uow, team: Team) -> Agent:
    """The next assignee of ``team``: after the last one in id order (round-robin) or the least loaded."""
    agents = uow.session.scalars(
        select(Agent).where(Agent.team_id == team.id, Agent.active.is_(True)).order_by(Agent.id)
    ).all()
    if not agents:
        raise Conflict(f"team {team.name!r} has no active agents to assign to", field="team")
    if team.assignment == "least_loaded":
        load = open_load(uow.session, [a.id for a in agents])
        chosen = min(agents, key=lambda a: (load[a.id], a.id))
    else:
        after = [a for a in agents if team.last_agent_id is not None and a.id > team.last_agent_id]
        chosen = after[0] if after else agents[0]
    team.last_agent_id = chosen.id
    return chosen


def agent_to_dict(agent: Agent, load: int | None = None) -> dict:
    data = {
        "username": agent.username,
        "name": agent.display_name,
        "team": agent.team.name if agent.team else None,
        "active": agent.active,
    }
    if load is not None:
        data["open_tickets"] = load
    return data
