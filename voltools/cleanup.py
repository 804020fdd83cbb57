"""`voltools clean`: remove what voltools made (services, containers, volumes, loop devices, host
folders), found by its label or its name, and nothing else."""
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import loop
from .config import IMAGE_LABEL, LABEL, host_dir, marker_dir


@dataclass
class Removed:
    services: list = field(default_factory=list)
    containers: list = field(default_factory=list)
    volumes: list = field(default_factory=list)
    loop_devices: list = field(default_factory=list)
    files: list = field(default_factory=list)
    images: list = field(default_factory=list)

    def total(self):
        return sum(len(v) for v in vars(self).values())


def label_filter(run_id=None):
    return {"label": f"{LABEL}={run_id}" if run_id else LABEL}


def clean(client=None, run_id=None, images=False):
    """Remove labeled containers and volumes, voltools loop devices and host files; return what went."""
    removed = Removed()
    if client is not None:
        removed.services += remove_services(client, run_id)
        _remove_containers(client, run_id, removed)
        _remove_volumes(client, run_id, removed)
        if images:
            _remove_images(client, removed)
    for device in loop.ours(run_id):
        loop.detach(device)
        removed.loop_devices.append(device)
    for image in loop.leftover_images() if run_id is None else []:
        image.unlink(missing_ok=True)
        removed.files.append(str(image))
    _remove_host_files(run_id, removed)
    return removed


def labeled_services(client, run_id=None):
    """Swarm services labeled with run_id (any voltools run if None); none off a swarm manager."""
    from docker.errors import APIError
    try:
        return client.services.list(filters=label_filter(run_id))
    except APIError:  # not a swarm manager: there are no services to see
        return []


def remove_services(client, run_id=None):
    """Remove the services `labeled_services` finds; return their names."""
    from docker.errors import NotFound
    services = labeled_services(client, run_id)
    for service in services:
        try:
            service.remove()
        except NotFound:
            pass
    return [s.name for s in services]


def _remove_containers(client, run_id, removed):
    from docker.errors import NotFound
    for container in client.containers.list(all=True, filters=label_filter(run_id)):
        try:
            container.remove(force=True)
            removed.containers.append(container.name)
        except NotFound:
            pass


def _remove_volumes(client, run_id, removed):
    from docker.errors import NotFound
    for volume in client.volumes.list(filters=label_filter(run_id)):
        try:
            volume.remove(force=True)
            removed.volumes.append(volume.name)
        except NotFound:
            pass


def _remove_images(client, removed):
    for image in client.images.list(filters={"label": IMAGE_LABEL}):
        client.images.remove(image.id, force=True)
        removed.images.append(",".join(image.tags) or image.short_id)


def _remove_host_files(run_id, removed):
    """Folders of host and bind targets: the default host folder, and any a marker names."""
    pattern = f"voltools-{run_id}-*" if run_id else "voltools-*"
    folder, markers = host_dir(), marker_dir()
    paths = sorted(folder.glob(pattern)) if folder.is_dir() else []
    for marker in sorted(markers.glob(pattern)) if markers.is_dir() else []:
        paths.append(Path(marker.read_text().strip()))
        marker.unlink()
    for path in paths:
        if path.name.startswith("voltools-") and path.exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.files.append(str(path))


def leftovers(client, run_id=None):
    """Count of labeled containers and volumes and voltools loop devices still present."""
    count = len(loop.ours(run_id))
    markers = marker_dir()
    count += len(list(markers.glob(f"voltools-{run_id or ''}*"))) if markers.is_dir() else 0
    if client is not None:
        count += len(labeled_services(client, run_id))
        count += len(client.containers.list(all=True, filters=label_filter(run_id)))
        count += len(client.volumes.list(filters=label_filter(run_id)))
    return count
