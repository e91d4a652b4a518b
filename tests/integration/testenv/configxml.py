# Write and read $OMERODIR/etc/grid/config.xml in tests, byte-compatible
# with omero-py's ConfigXml.save() (same layout as the golden samples in
# ../shared/vectors/config-xml/samples/): __ACTIVE__ first with a copy of
# the active profile, then every profile, then <include file="templates.xml" />.
import time
import xml.etree.ElementTree as ET
from pathlib import Path

VERSION = "5.1.0"

COMMENT = "\n".join(
    [
        "\n",
        "\tThis file was generated at %s by the OmeroConfig system.",
        "\tDo not edit directly but see `omero config` for details.",
        "\tThis file may be included into your IceGrid application.",
        "\n",
    ]
)


def _items(props):
    if props is None:
        return []
    if hasattr(props, "items"):
        return list(props.items())
    return list(props)


def config_xml_bytes(profiles, active="default", ctime=None):
    """Serialise PROFILES ({name: {key: value} or [(key, value)]}).

    ACTIVE is the persisted active profile (created empty if missing).
    CTIME is the comment's timestamp text (default: time.ctime()).
    """
    profiles = dict(profiles)
    if active not in profiles:
        profiles[active] = {}
    root = ET.Element("icegrid")
    root.append(ET.Comment(COMMENT % (ctime or time.ctime())))
    act = ET.SubElement(root, "properties", id="__ACTIVE__")
    ET.SubElement(act, "property", name="omero.config.profile", value=active)
    ET.SubElement(act, "property", name="omero.config.version", value=VERSION)
    for k, v in _items(profiles[active]):
        ET.SubElement(act, "property", name=k, value=str(v))
    for name, props in profiles.items():
        block = ET.SubElement(root, "properties", id=name)
        ET.SubElement(block, "property", name="omero.config.version",
                      value=VERSION)
        for k, v in _items(props):
            ET.SubElement(block, "property", name=k, value=str(v))
    ET.SubElement(root, "include", file="templates.xml")
    return ET.tostring(root, encoding="UTF-8")


def config_path(omerodir):
    return Path(omerodir) / "etc" / "grid" / "config.xml"


def write_config(omerodir, props=None, *, profile="default", active=None,
                 profiles=None, ctime=None):
    """Write OMERODIR/etc/grid/config.xml and return its path.

    PROPS ({key: value} or [(key, value), ...], duplicates allowed) go into
    PROFILE; PROFILES adds more {name: props}; ACTIVE (default PROFILE) is
    the persisted active profile.  Non-string values are str()-ed, so pass
    JSON values already encoded (json.dumps).
    """
    allp = dict(profiles or {})
    allp[profile] = props or {}
    path = config_path(omerodir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".temp")
    tmp.write_bytes(config_xml_bytes(allp, active or profile, ctime))
    tmp.replace(path)
    return path


def read_config(omerodir, profile=None):
    """{key: value} of PROFILE (default: the persisted active profile)."""
    path = config_path(omerodir)
    if not path.exists():
        return {}
    root = ET.parse(path).getroot()

    def props(block):
        return {p.get("name"): p.get("value", "")
                for p in (block.findall("property") if block is not None
                          else []) if p.get("name") is not None}

    blocks = {b.get("id"): b for b in reversed(root.findall("properties"))}
    if profile is None:
        profile = props(blocks.get("__ACTIVE__")).get(
            "omero.config.profile", "default")
    out = props(blocks.get(profile))
    out.pop("omero.config.version", None)
    return out
