"""`voltools clean`: remove what voltools made, and nothing else.

What is voltools' is found exactly: Docker objects by the label `voltools.run=<run id>`; loop
devices and images only in the loop folder, named `voltools_<run>_<target>.img`; host folders only
through the markers naming them. A host folder is emptied of voltools' data files and removed;
anything else in it is left, and said so in `Removed.left`, never forced.
"""
from dataclasses import dataclass, field

from ..config import COPY_REPO, IMAGE_LABEL, LABEL, marker_dir
from ..errors import TargetError, first_line
from ..naming import check_name, split_name
from . import loop
from .targets import read_marker, remove_host_folder


@dataclass
class Removed:
    """What clean removed, by kind; `left`: what it found but left, one sentence each."""

    services: list = field(default_factory=list)
    containers: list = field(default_factory=list)
    volumes: list = field(default_factory=list)
    loop_devices: list = field(default_factory=list)
    files: list = field(default_factory=list)
    images: list = field(default_factory=list)
    left: list = field(default_factory=list)

    def total(self):
        """How many objects were removed (`left` not counted)."""
        return sum(len(v) for k, v in vars(self).items() if k != "left")


def label_filter(run_id=None):
    return {"label": f"{LABEL}={run_id}" if run_id else LABEL}


def runs_selector(run_id=None, keep=None):
    """A test run id -> bool: that run (every run if None), unless keep(run) says to leave it."""
    if run_id is not None:
        check_name(run_id)

    def wanted(run):
        return run is not None and (run_id is None or run == run_id) and not (keep and keep(run))
    return wanted


def clean(client=None, run_id=None, images=False, keep=None):
    """Remove the objects of run `run_id` (of every run if None) and return what went.

    `keep`: a callable run_id -> bool; the objects of a run it returns True for are left alone
    (e.g. a run that is live). `run_id=""` or an invalid id is a UsageError.
    """
    wanted = runs_selector(run_id, keep)
    removed = Removed()
    if client is not None:
        removed.services += remove_services(client, run_id, keep)
        _remove_containers(client, run_id, wanted, removed)
        _remove_volumes(client, run_id, wanted, removed)
        copies = remove_copies(client, run_id, keep)
        removed.images, removed.left = removed.images + copies.images, removed.left + copies.left
        if images:
            _remove_images(client, removed)
    for device, _ in loop.devices(wanted):
        _remove(lambda: loop.detach(device), removed.loop_devices, device, removed, "loop device")
    for image, _ in loop.leftover_images(wanted):
        image.unlink(missing_ok=True)
        removed.files.append(str(image))
    _remove_host_folders(wanted, removed)
    return removed


def labeled_services(client, run_id=None, keep=None):
    """Swarm services labeled with run_id (any voltools run if None); none off a swarm manager."""
    from docker.errors import APIError
    wanted = runs_selector(run_id, keep)
    try:
        services = client.services.list(filters=label_filter(run_id))
    except APIError:  # not a swarm manager: there are no services to see
        return []
    return [s for s in services if wanted(((s.attrs.get("Spec") or {}).get("Labels") or {}).get(LABEL))]


def remove_services(client, run_id=None, keep=None):
    """Remove the services `labeled_services` finds; return their names."""
    from docker.errors import NotFound
    services = labeled_services(client, run_id, keep)
    for service in services:
        try:
            service.remove()
        except NotFound:
            pass
    return [s.name for s in services]


def _remove_containers(client, run_id, wanted, removed):
    for container in client.containers.list(all=True, filters=label_filter(run_id), ignore_removed=True):
        if wanted((container.labels or {}).get(LABEL)):
            _remove(lambda: container.remove(force=True), removed.containers, container.name, removed,
                    "container")


def _remove_volumes(client, run_id, wanted, removed):
    for volume in client.volumes.list(filters=label_filter(run_id)):
        if wanted((volume.attrs.get("Labels") or {}).get(LABEL)):
            _remove(lambda: volume.remove(force=True), removed.volumes, volume.name, removed, "volume")


def remove_copies(client, run_id=None, keep=None):
    """Image copies runs loaded onto this engine (tagged voltools-copy:<run>): the run's tag goes,
    and the image with it once no other run's copy tag is on it. Returns a Removed (images, left)."""
    wanted, removed = runs_selector(run_id, keep), Removed()
    for image in client.images.list(name=COPY_REPO):
        copies = [t for t in image.tags if t.startswith(f"{COPY_REPO}:")]
        ours = [t for t in copies if wanted(t.partition(":")[2])]
        if not ours:
            continue
        rest = [t for t in image.tags if t not in copies] if len(ours) == len(copies) else []
        for tag in ours + rest:  # untagging the last tag removes the image
            _remove(lambda: client.images.remove(tag), removed.images, tag, removed, "image")
    return removed


def _remove(action, done, name, removed, what):
    """Run one removal: on success note `name` in `done`; gone already is fine; a refusal is left."""
    from docker.errors import DockerException, NotFound
    try:
        action()
    except NotFound:
        return
    except (DockerException, TargetError) as exc:
        removed.left.append(f"{what} {name}: {first_line(exc)}")
        return
    done.append(name)


def _remove_images(client, removed):
    for image in client.images.list(filters={"label": IMAGE_LABEL}):
        client.images.remove(image.id, force=True)
        removed.images.append(",".join(image.tags) or image.short_id)


def markers(wanted):
    """[(marker, run id)] of host-folder markers whose run is wanted."""
    folder = marker_dir()
    found = [(m, split_name(m.name)) for m in sorted(folder.iterdir())] if folder.is_dir() else []
    return [(m, names[0]) for m, names in found if names and wanted(names[0]) and m.is_file()]


def _remove_host_folders(wanted, removed):
    """The folder each marker names: emptied of voltools' data files and removed, then the marker."""
    for marker, run in markers(wanted):
        path = read_marker(marker)
        if path.rsplit("/", 1)[-1] != marker.name:
            removed.left.append(f"marker {marker} names {path!r}, not a folder of that name: left both")
            continue
        left = remove_host_folder(path, run)
        if left:
            removed.left.append(left)
            continue
        marker.unlink(missing_ok=True)
        removed.files.append(path)


def leftovers(client, run_id=None):
    """How many objects of the run (of any run if None) are still there (see `leftover_names`)."""
    return len(leftover_names(client, run_id))


def leftover_names(client, run_id=None):
    """The objects of the run (of any run if None) still there, as "kind name": labeled services,
    containers and volumes, loop devices and images, host folders (by marker)."""
    wanted = runs_selector(run_id)
    names = [f"loop device {d}" for d, _ in loop.devices(wanted)]
    names += [f"loop image {i}" for i, _ in loop.leftover_images(wanted)]
    names += [f"host folder marker {m}" for m, _ in markers(wanted)]
    if client is not None:
        names += [f"service {s.name}" for s in labeled_services(client, run_id)]
        # sparse: no inspect, which would raise NotFound for a container removed after the list
        sparse = client.containers.list(all=True, filters=label_filter(run_id), sparse=True)
        names += [f"container {c.attrs.get('Names', [c.id])[0]} ({c.attrs.get('State')})" for c in sparse]
        names += [f"volume {v.name}" for v in client.volumes.list(filters=label_filter(run_id))]
    return names
