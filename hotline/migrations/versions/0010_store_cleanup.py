"""The store: one village reference per resident, one topic vocabulary, timeline data that
says what each line's sentence said.

1. `residents.village` (a name string, written beside `village_id` since 0006) goes. A
   resident with a string but no id gets the village whose code, or else whose name, is
   that string (case and accents aside). A string that names no village becomes a new
   village of that name, with no team: nothing is lost, its residents' requests reach the
   leads as unrouted, and the admin page shows the village to give it a team. A name
   shared by several villages links none (guessing would route a resident to the wrong
   team); an audit-log row keeps the string. Each village created is in the audit log too.
2. Requests' topics: SMS stored `pension` where the voice menu stored `pension_allowance`;
   both are now `pension_allowance` (hotline.models.Topic). A topic outside the list (an
   operator's own keyword file) is kept as it is: the dashboard shows it as "other (…)".
3. Timeline lines whose words used to be told apart only by their English sentence get
   that in their data (a reason code, an error detail, a note), so the dashboard renders
   every line from kind and data (hotline.staff.timeline). The sentences stay.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:00:00.000000

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ACTOR = "migration 0010"

residents = sa.table('residents', sa.column('id', sa.Integer), sa.column('village', sa.String),
                     sa.column('village_id', sa.Integer))
villages = sa.table('villages', sa.column('id', sa.Integer), sa.column('code', sa.String),
                    sa.column('name', sa.String), sa.column('team_id', sa.Integer))
tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('topic', sa.String),
                   sa.column('channel', sa.String))
events = sa.table('ticket_events', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                  sa.column('message', sa.Text), sa.column('data', sa.JSON))
audit_log = sa.table('audit_log', sa.column('actor', sa.String), sa.column('action', sa.String),
                     sa.column('target', sa.String), sa.column('data', sa.JSON),
                     sa.column('created_at', sa.DateTime(timezone=True)))


def upgrade():
    connection = op.get_bind()
    _link_residents_to_villages(connection)
    # Native DROP COLUMN (SQLite 3.35+, PostgreSQL): copying the table instead would drop
    # `residents` under the requests that reference it while foreign keys are enforced.
    with op.batch_alter_table('residents', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('village')

    connection.execute(tickets.update().where(tickets.c.topic == 'pension').values(topic='pension_allowance'))
    _timeline_data(connection)


def downgrade():
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('village', sa.String(length=120), nullable=True))
    connection = op.get_bind()
    connection.execute(
        residents.update()
        .where(residents.c.village_id.is_not(None))
        .values(village=sa.select(villages.c.name).where(villages.c.id == residents.c.village_id)
                .scalar_subquery())
    )
    connection.execute(
        tickets.update().where(tickets.c.topic == 'pension_allowance', tickets.c.channel == 'sms')
        .values(topic='pension')
    )
    # Timeline data keeps its added keys: older code ignores them.


# --- 1. residents' villages ------------------------------------------------------------


def fold(text):
    """Lower case, no accents (đ → d), single spaces: how a typed village name is compared."""
    text = unicodedata.normalize('NFKD', text.replace('đ', 'd').replace('Đ', 'D'))
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return ' '.join(text.casefold().split())


def slug(text):
    return re.sub(r'[^a-z0-9]+', '-', fold(text)).strip('-')[:34] or 'village'


def _link_residents_to_villages(connection):
    known = connection.execute(sa.select(villages.c.id, villages.c.code, villages.c.name)).all()
    by_code = {fold(code): village_id for village_id, code, _ in known}
    by_name = {}
    for village_id, _, name in known:
        by_name.setdefault(fold(name), []).append(village_id)
    codes = {code for _, code, _ in known}
    now = sa.func.current_timestamp()

    rows = connection.execute(
        sa.select(residents.c.id, residents.c.village)
        .where(residents.c.village_id.is_(None), residents.c.village.is_not(None))
        .order_by(residents.c.id)
    ).all()
    for resident_id, value in rows:
        key = fold(value)
        if not key:
            continue
        village_id = by_code.get(key)
        if village_id is None:
            named = by_name.get(key, [])
            if len(named) > 1:
                connection.execute(audit_log.insert().values(
                    actor=ACTOR, action='resident_village_ambiguous', target=f'resident:{resident_id}',
                    data={'village': value, 'villages': sorted(named)}, created_at=now))
                continue
            village_id = named[0] if named else None
        if village_id is None:
            code, n = slug(value), 1
            while code in codes:
                n += 1
                code = f'{slug(value)}-{n}'
            name = ' '.join(value.split())[:120]
            village_id = connection.execute(
                villages.insert().values(code=code, name=name).returning(villages.c.id)
            ).scalar_one()
            codes.add(code)
            by_code[fold(code)] = village_id
            by_name[key] = [village_id]
            connection.execute(audit_log.insert().values(
                actor=ACTOR, action='village_from_resident', target=code,
                data={'village': value}, created_at=now))
        connection.execute(residents.update().where(residents.c.id == resident_id).values(village_id=village_id))


# --- 3. timeline data ------------------------------------------------------------------

#: kind → [(stored sentence or prefix, is_prefix, data it stands for)]. A prefix's detail
#: (the rest of the sentence) goes under the data's "detail" key.
SENTENCES = {
    'sms_not_sent': [
        ('not sent: no caller number', False, {'reason': 'no_number'}),
        ('not sent: the resident opted out (STOP)', False, {'reason': 'opted_out'}),
        ('not sent: no provider configured', False, {'reason': 'no_provider'}),
    ],
    'callback_failed': [
        ('not placed: no Twilio credentials or no phone number', False, {'reason': 'no_credentials'}),
    ],
    'flag': [
        ('marked elderly', False, {'elderly': True}),
        ('elderly flag removed', False, {'elderly': False}),
    ],
    'sms_in': [('(empty SMS)', False, {'empty': True})],
    'transcription_done': [
        ('voice message transcribed: no words recognised; listen to the recording', False, {'empty': True}),
    ],
    'transcription_failed': [
        ('transcription failed: ', True, {'step': 'transcribe'}),
        ('recording not downloaded: ', True, {'step': 'download'}),
    ],
    'transcription_waiting_for_audio': [('recording not available yet, will retry: ', True, {})],
    'transcription_unreadable_audio': [('voice message not transcribed: ', True, {})],
    'staff_sms_failed': [('volunteer not texted: ', True, {})],
    'sms_failed': [('not sent: ', True, {})],
}
#: Lines that end in ": <the staff member's note>" when one was given.
WITH_NOTE = ('outcome', 'visit_booked', 'transferred')


def backfill(kind, message, data):
    """The data a stored line gets (None: nothing to add)."""
    message = message or ''
    if kind in WITH_NOTE:
        if 'note' in data or data.get('outcome') == 'no_answer':
            return None
        return {**data, 'note': message.partition(': ')[2] or None}
    if kind == 'sms_not_sent' and message.startswith('no reply: ') and 'no_reply' not in data:
        return {**data, 'no_reply': message.removeprefix('no reply: ')}
    if kind == 'callback_failed':
        refused = re.fullmatch(r'not placed: Twilio refused \((\d+)\)', message)
        if refused and 'reason' not in data:
            return {**data, 'reason': 'refused', 'http_status': int(refused.group(1))}
    if kind == 'sms_failed' and 'provider_id' in data:
        return None  # the provider's later word: its status is in the data already
    for sentence, is_prefix, adds in SENTENCES.get(kind, ()):
        if is_prefix and message.startswith(sentence):
            added = {**adds, 'detail': message[len(sentence):]}
        elif not is_prefix and message == sentence:
            added = adds
        else:
            continue
        if all(key in data for key in added):
            return None
        return {**data, **added}
    return None


def _timeline_data(connection):
    kinds = sorted({*SENTENCES, *WITH_NOTE})
    rows = connection.execute(
        sa.select(events.c.id, events.c.kind, events.c.message, events.c.data)
        .where(events.c.kind.in_(kinds)).order_by(events.c.id)
    ).all()
    for event_id, kind, message, data in rows:
        new = backfill(kind, message, data or {})
        if new is not None:
            connection.execute(events.update().where(events.c.id == event_id).values(data=new))
