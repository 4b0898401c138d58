"""The capability taxonomies and sectors Forewarn ships with. Coordinators can add more."""

from django.db import migrations

TAXONOMIES = [
    {
        "slug": "openai-pf-v1",
        "framework": "OpenAI Preparedness Framework",
        "version": "v1 (2023)",
        "categories": [
            ("cybersecurity", "Cybersecurity", "tracked"),
            ("cbrn", "Chemical, Biological, Nuclear and Radiological (CBRN)", "tracked"),
            ("persuasion", "Persuasion", "tracked"),
            ("model-autonomy", "Model autonomy", "tracked"),
        ],
    },
    {
        "slug": "openai-pf-v2",
        "framework": "OpenAI Preparedness Framework",
        "version": "v2 (2025)",
        "categories": [
            ("biological-chemical", "Biological and Chemical", "tracked"),
            ("cybersecurity", "Cybersecurity", "tracked"),
            ("ai-self-improvement", "AI Self-improvement", "tracked"),
            ("long-range-autonomy", "Long-range Autonomy", "research"),
            ("sandbagging", "Sandbagging", "research"),
            ("autonomous-replication", "Autonomous Replication and Adaptation", "research"),
            ("undermining-safeguards", "Undermining Safeguards", "research"),
            ("nuclear-radiological", "Nuclear and Radiological", "research"),
        ],
    },
    {
        "slug": "anthropic-rsp",
        "framework": "Anthropic Responsible Scaling Policy",
        "version": "capability thresholds",
        "categories": [
            ("cbrn-3", "CBRN-3", "threshold"),
            ("cbrn-4", "CBRN-4", "threshold"),
            ("ai-rd-4", "AI R&D-4", "threshold"),
            ("ai-rd-5", "AI R&D-5", "threshold"),
            ("cyber-operations", "Cyber operations", "threshold"),
        ],
    },
    {
        "slug": "gdm-fsf",
        "framework": "Google DeepMind Frontier Safety Framework",
        "version": "critical capability levels",
        "categories": [
            ("cbrn-uplift-1", "CBRN Uplift 1", "threshold"),
            ("cyber-uplift-1", "Cyber Uplift 1", "threshold"),
            ("harmful-manipulation-1", "Harmful Manipulation 1", "threshold"),
            ("ml-rd-acceleration-1", "ML R&D Acceleration 1", "threshold"),
            ("ml-rd-automation-1", "ML R&D Automation 1", "threshold"),
        ],
    },
]

# The sixteen US critical-infrastructure sectors (PPD-21), then defender communities.
SECTORS = [
    ("chemical", "Chemical"),
    ("commercial-facilities", "Commercial Facilities"),
    ("communications", "Communications"),
    ("critical-manufacturing", "Critical Manufacturing"),
    ("dams", "Dams"),
    ("defense-industrial-base", "Defense Industrial Base"),
    ("emergency-services", "Emergency Services"),
    ("energy", "Energy"),
    ("financial-services", "Financial Services"),
    ("food-agriculture", "Food and Agriculture"),
    ("government-facilities", "Government Facilities"),
    ("healthcare-public-health", "Healthcare and Public Health"),
    ("information-technology", "Information Technology"),
    ("nuclear", "Nuclear Reactors, Materials, and Waste"),
    ("transportation", "Transportation Systems"),
    ("water", "Water and Wastewater Systems"),
    ("nucleic-acid-synthesis", "Nucleic-acid synthesis providers"),
    ("public-health-agencies", "Public-health agencies"),
    ("cloud-compute", "Cloud and compute providers"),
    ("ai-developers", "AI developers"),
    ("national-certs", "National CERTs"),
    ("isacs", "ISACs"),
]


def seed(apps, schema_editor):
    Taxonomy = apps.get_model("disclosure", "Taxonomy")
    CapabilityCategory = apps.get_model("disclosure", "CapabilityCategory")
    Sector = apps.get_model("disclosure", "Sector")
    for data in TAXONOMIES:
        taxonomy, _ = Taxonomy.objects.get_or_create(
            slug=data["slug"],
            defaults={"framework": data["framework"], "version": data["version"]},
        )
        for position, (code, label, kind) in enumerate(data["categories"]):
            CapabilityCategory.objects.get_or_create(
                taxonomy=taxonomy,
                code=code,
                defaults={"label": label, "kind": kind, "position": position},
            )
    for position, (slug, name) in enumerate(SECTORS):
        Sector.objects.get_or_create(slug=slug, defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
