def url_kwargs(world):
    """The member of staff whose sign-in the clinic admin's staff page unlocks or resets."""
    someone = world["users"]["front_desk"]
    return {
        "staff_unlock": {"pk": someone.pk},
        "staff_reset_second_factor": {"pk": someone.pk},
    }
